// The N-API surface: unpack and check arguments, call the step, nothing else.
// lib/native.ts declares exactly what this file exports.
#include <napi.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "dispatch.h"
#include "step.h"

namespace {

// Per-environment state: each worker thread that loads the addon has its own.
struct Addon {
  const sgd::Kernels* kernels;
  sgd::Step step;
};

// Index of each entry of the `scalars` Float64Array (mirrored in lib/native.ts).
enum ScalarIndex {
  kMode, kLossScale, kAccumSteps, kClip, kClipValue, kLr, kMomentum, kNesterov,
  kWeightDecay, kEma, kEmaE, kOverwrite, kScalarCount
};

struct View {
  napi_typedarray_type type;
  size_t length;
  void* data;
};

[[noreturn]] void fail_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void fail_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

bool typed_array(napi_env env, napi_value v, View* out) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &buffer, &offset) == napi_ok;
}

bool is_float_array(const View& v) {
  return v.type == napi_float32_array || v.type == napi_float64_array;
}

Napi::Array array_arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return Napi::Array();
  if (!v.IsArray()) fail_type(info.Env(), std::string("step(): `") + name + "` must be an array");
  return v.As<Napi::Array>();
}

View typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type, size_t min_len) {
  View v;
  if (!typed_array(info.Env(), info[i], &v) || v.type != type)
    fail_type(info.Env(), std::string("step(): `") + name + "` has the wrong type");
  if (v.length < min_len) fail_range(info.Env(), std::string("step(): `") + name + "` is too short");
  return v;
}

// A state or gradient array must match its variable exactly: same type, same length.
void* matching(const Napi::CallbackInfo& info, Napi::Array list, uint32_t i, const char* name, const View& var,
               bool nullable) {
  napi_value v;
  if (napi_get_element(info.Env(), list, i, &v) != napi_ok) throw Napi::Error::New(info.Env());
  napi_valuetype t;
  napi_typeof(info.Env(), v, &t);
  if (nullable && (t == napi_null || t == napi_undefined)) return nullptr;
  View view;
  const std::string where = std::string("step(): ") + name + "[" + std::to_string(i) + "]";
  if (!typed_array(info.Env(), v, &view) || view.type != var.type)
    fail_type(info.Env(), where + " must be a typed array of its variable's type");
  if (view.length != var.length)
    fail_range(info.Env(), where + " has " + std::to_string(view.length) + " elements, its variable " +
                               std::to_string(var.length));
  return view.data;
}

template <class T>
void fill_scalars(sgd::Scalars<T>& s, const double* x) {
  s.mode = x[kMode] == 1 ? sgd::Mode::kAccumulate : sgd::Mode::kUpdate;
  s.unscale = !std::isnan(x[kLossScale]);
  s.loss_scale = static_cast<T>(x[kLossScale]);
  s.average = x[kAccumSteps] != 0;
  s.accum_steps = static_cast<T>(x[kAccumSteps]);
  s.clip = static_cast<sgd::Clip>(static_cast<int>(x[kClip]));
  s.clip_value = static_cast<T>(x[kClipValue]);
  s.lr = static_cast<T>(x[kLr]);
  s.momentum_on = x[kMomentum] != 0;
  s.momentum = static_cast<T>(x[kMomentum]);
  s.nesterov = x[kNesterov] != 0;
  s.weight_decay = static_cast<T>(x[kWeightDecay]);
  s.ema = x[kEma] != 0;
  s.ema_e = static_cast<T>(x[kEmaE]);
  s.ema_one_minus_e = T(1) - s.ema_e;
  s.overwrite = x[kOverwrite] != 0;
}

// step(variables, grads, momentums|null, averages|null, accumulators|null,
//      decay: Uint8Array, decayLr: Float64Array, scalars: Float64Array)
Napi::Value Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon* addon = env.GetInstanceData<Addon>();
  Napi::Array vars = array_arg(info, 0, "variables", false);
  Napi::Array grads = array_arg(info, 1, "grads", false);
  Napi::Array moms = array_arg(info, 2, "momentums", true);
  Napi::Array avgs = array_arg(info, 3, "averages", true);
  Napi::Array accs = array_arg(info, 4, "accumulators", true);
  const uint32_t n = vars.Length();
  if (grads.Length() != n) fail_range(env, "step(): `grads` and `variables` differ in length");
  for (Napi::Array* list : {&moms, &avgs, &accs})
    if (!list->IsEmpty() && list->Length() != n) fail_range(env, "step(): a state list differs in length from `variables`");
  const View decay = typed_arg(info, 5, "decay", napi_uint8_array, n);
  const View decay_lr = typed_arg(info, 6, "decayLr", napi_float64_array, n);
  const View scalars = typed_arg(info, 7, "scalars", napi_float64_array, kScalarCount);
  const double* x = static_cast<const double*>(scalars.data);
  const int clip = static_cast<int>(x[kClip]);
  if (clip < 0 || clip > 3 || !(x[kMode] == 0 || x[kMode] == 1)) fail_range(env, "step(): bad `scalars`");
  const bool accumulate = x[kMode] == 1 || x[kAccumSteps] != 0;
  if (accumulate && accs.IsEmpty()) fail_type(env, "step(): gradient accumulation needs `accumulators`");
  if (x[kMomentum] != 0 && moms.IsEmpty()) fail_type(env, "step(): momentum needs `momentums`");
  if (x[kEma] != 0 && avgs.IsEmpty()) fail_type(env, "step(): EMA needs `averages`");

  sgd::Step& st = addon->step;
  st.clear();
  fill_scalars(st.s32, x);
  fill_scalars(st.s64, x);
  st.clip_value = x[kClipValue];
  for (uint32_t i = 0; i < n; ++i) {
    napi_value v;
    if (napi_get_element(env, vars, i, &v) != napi_ok) throw Napi::Error::New(env);
    View var;
    if (!typed_array(env, v, &var) || !is_float_array(var))
      fail_type(env, "step(): variables[" + std::to_string(i) + "] must be a Float32Array or Float64Array");
    void* g = matching(info, grads, i, "grads", var, true);
    void* m = moms.IsEmpty() ? nullptr : matching(info, moms, i, "momentums", var, false);
    void* a = avgs.IsEmpty() ? nullptr : matching(info, avgs, i, "averages", var, false);
    void* c = accs.IsEmpty() ? nullptr : matching(info, accs, i, "accumulators", var, false);
    const bool decays = static_cast<const uint8_t*>(decay.data)[i] != 0;
    const double lr = static_cast<const double*>(decay_lr.data)[i];
    if (var.type == napi_float64_array) {
      st.is_f64.push_back(1);
      st.index.push_back(st.f64.size());
      st.f64.push_back({static_cast<double*>(var.data), static_cast<const double*>(g), static_cast<double*>(m),
                        static_cast<double*>(a), static_cast<double*>(c), var.length, decays, lr, 0.0});
    } else {
      st.is_f64.push_back(0);
      st.index.push_back(st.f32.size());
      st.f32.push_back({static_cast<float*>(var.data), static_cast<const float*>(g), static_cast<float*>(m),
                        static_cast<float*>(a), static_cast<float*>(c), var.length, decays,
                        static_cast<float>(lr), 0.0f});
    }
  }
  sgd::run(*addon->kernels, st);
  return env.Undefined();
}

// isa() -> { active, available }
Napi::Value Isa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("active", env.GetInstanceData<Addon>()->kernels->name);
  const auto& list = sgd::available_kernels();
  Napi::Array names = Napi::Array::New(env, list.size());
  for (uint32_t i = 0; i < list.size(); ++i) names.Set(i, list[i]->name);
  out.Set("available", names);
  return out;
}

// setIsa(name): use another available instruction set in this environment.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) fail_type(env, "setIsa(): `name` must be a string");
  const std::string name = info[0].As<Napi::String>();
  const sgd::Kernels* k = sgd::find_kernels(name);
  if (k == nullptr) fail_range(env, "setIsa(): '" + name + "' is not available on this machine");
  env.GetInstanceData<Addon>()->kernels = k;
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Addon* addon = new Addon();
  try {
    addon->kernels = sgd::default_kernels();
  } catch (const std::invalid_argument& e) {
    delete addon;
    throw Napi::Error::New(env, e.what());
  }
  env.SetInstanceData(addon);
  exports.Set("step", Napi::Function::New(env, Step, "step"));
  exports.Set("isa", Napi::Function::New(env, Isa, "isa"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
