// The N-API surface: unpack and check arguments, call the step, nothing else.
// lib/native.ts declares exactly what this file exports.
#include <napi.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "dispatch.h"
#include "fill_scalars.h"
#include "memory.h"
#include "pool.h"
#include "scalars.h"
#include "step.h"

namespace {

// Per-environment state: each worker thread that loads the addon has its own.
struct Addon {
  const sgd::Kernels* kernels;
  sgd::Step step;
};

struct View {
  napi_typedarray_type type;
  size_t length;
  void* data;
};

[[noreturn]] void fail_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] void fail_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

// One N-API call: fails (napi_invalid_arg) for anything that is not a typed array.
bool typed_array(napi_env env, napi_value v, View* out) {
  return napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, nullptr, nullptr) == napi_ok;
}

bool is_float_array(const View& v) { return v.type == napi_float32_array || v.type == napi_float64_array; }

Napi::Array array_arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable) {
  napi_value v = info[i];
  bool is_array = false;
  napi_is_array(info.Env(), v, &is_array);
  if (is_array) return Napi::Array(info.Env(), v);
  if (nullable) {
    napi_valuetype t;
    napi_typeof(info.Env(), v, &t);
    if (t == napi_null || t == napi_undefined) return Napi::Array();
  }
  fail_type(info.Env(), std::string("step(): `") + name + "` must be an array");
}

View typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type, size_t min_len) {
  View v;
  if (!typed_array(info.Env(), info[i], &v) || v.type != type)
    fail_type(info.Env(), std::string("step(): `") + name + "` has the wrong type");
  if (v.length < min_len) fail_range(info.Env(), std::string("step(): `") + name + "` is too short");
  return v;
}

// A state or gradient array must match its variable exactly: same type, same length.
// (Messages are built only on failure: this runs for every tensor of every step.)
void* matching(const Napi::CallbackInfo& info, Napi::Array list, uint32_t i, const char* name, const View& var,
               bool nullable) {
  napi_env env = info.Env();
  napi_value v;
  if (napi_get_element(env, list, i, &v) != napi_ok) throw Napi::Error::New(env);
  View view;
  if (typed_array(env, v, &view) && view.type == var.type) {
    if (view.length == var.length) return view.data;
    fail_range(info.Env(), std::string("step(): ") + name + "[" + std::to_string(i) + "] has " +
                               std::to_string(view.length) + " elements, its variable " + std::to_string(var.length));
  }
  if (nullable) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_null || t == napi_undefined) return nullptr;
  }
  fail_type(info.Env(), std::string("step(): ") + name + "[" + std::to_string(i) +
                            "] must be a typed array of its variable's type");
}

// Reads the arguments of step()/stepAsync() into `st`, checking everything memory
// safety depends on: types, lengths, which state lists the scalars need.
// step(variables, grads, momentums|null, averages|null, accumulators|null, scalars: Float64Array)
// with `scalars` laid out as scalars.h says.
// (Six arguments: node-addon-api allocates for a call with more.)
void parse(const Napi::CallbackInfo& info, sgd::Step& st) {
  namespace scalar = sgd::scalar;
  Napi::Env env = info.Env();
  Napi::Array vars = array_arg(info, 0, "variables", false);
  Napi::Array grads = array_arg(info, 1, "grads", false);
  Napi::Array moms = array_arg(info, 2, "momentums", true);
  Napi::Array avgs = array_arg(info, 3, "averages", true);
  Napi::Array accs = array_arg(info, 4, "accumulators", true);
  const uint32_t n = vars.Length();
  if (grads.Length() != n) fail_range(env, "step(): `grads` and `variables` differ in length");
  for (Napi::Array* list : {&moms, &avgs, &accs})
    if (!list->IsEmpty() && list->Length() != n)
      fail_range(env, "step(): a state list differs in length from `variables`");
  const View scalars = typed_arg(info, 5, "scalars", napi_float64_array, scalar::length(n));
  const double* x = static_cast<const double*>(scalars.data);
  const int clip = static_cast<int>(x[scalar::clip]);
  if (clip < 0 || clip > 3 || !(x[scalar::mode] == 0 || x[scalar::mode] == 1)) fail_range(env, "step(): bad `scalars`");
  const bool accumulate = x[scalar::mode] == 1 || x[scalar::accumSteps] != 0;
  if (accumulate && accs.IsEmpty()) fail_type(env, "step(): gradient accumulation needs `accumulators`");
  if (x[scalar::ema] != 0 && avgs.IsEmpty()) fail_type(env, "step(): EMA needs `averages`");

  st.clear();
  sgd::fill_scalars(st.s32, x);
  sgd::fill_scalars(st.s64, x);
  // The momentum slot exists exactly when momentum != 0 (even one that rounds to 0 in float32).
  st.s32.momentum_on = st.s64.momentum_on = !moms.IsEmpty();
  st.clip_value = x[scalar::clipValue];
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
    const std::size_t bytes = var.length * (var.type == napi_float64_array ? sizeof(double) : sizeof(float));
    const void* parts[] = {var.data, g, m, a, c};
    const sgd::Role roles[] = {sgd::Role::kVariable, sgd::Role::kGrad, sgd::Role::kMomentum, sgd::Role::kAverage,
                               sgd::Role::kAccumulator};
    for (int k = 0; k < 5; ++k)
      if (parts[k] != nullptr && bytes > 0) {
        const auto begin = reinterpret_cast<std::uintptr_t>(parts[k]);
        st.ranges.push_back({begin, begin + bytes, roles[k], i});
      }
    const bool decays = x[scalar::decay_on(n, i)] != 0;
    const double lr = x[scalar::decay_lr(n, i)];
    if (var.type == napi_float64_array) {
      st.is_f64.push_back(1);
      st.index.push_back(st.f64.size());
      st.f64.push_back({static_cast<double*>(var.data), static_cast<const double*>(g), static_cast<double*>(m),
                        static_cast<double*>(a), static_cast<double*>(c), var.length, decays, lr, 0.0});
    } else {
      st.is_f64.push_back(0);
      st.index.push_back(st.f32.size());
      st.f32.push_back({static_cast<float*>(var.data), static_cast<const float*>(g), static_cast<float*>(m),
                        static_cast<float*>(a), static_cast<float*>(c), var.length, decays, static_cast<float>(lr),
                        0.0f});
    }
  }
  // The real addresses: two JS objects (a SharedArrayBuffer and its clone) may map the same memory.
  // (The same memory as the last step checked needs no new check: the common case.)
  if (st.ranges != st.checked) {
    st.sorted = st.ranges;
    const std::string why = sgd::check_disjoint(st.sorted);
    if (!why.empty()) fail_range(env, "step(): " + why);
    st.checked = st.ranges;
  }
  const std::string why = sgd::in_flight::conflict(st.ranges);
  if (!why.empty()) throw Napi::Error::New(env, "step(): " + why);
}

// scalarLayout: { names: [...in index order], perTensor: [...in order] } (scalars.h).
Napi::Object ScalarLayout(Napi::Env env) {
  static const char* const names[] = {
#define SGD_SCALAR_NAME(name, meaning) #name,
      SGD_SCALARS(SGD_SCALAR_NAME)
#undef SGD_SCALAR_NAME
  };
  Napi::Array list = Napi::Array::New(env, sgd::scalar::kCount);
  for (uint32_t i = 0; i < sgd::scalar::kCount; ++i) list.Set(i, names[i]);
  Napi::Array tails = Napi::Array::New(env, 2);
  tails.Set(uint32_t(sgd::scalar::decay_on(1, 0) - sgd::scalar::kCount), "decayOn");
  tails.Set(uint32_t(sgd::scalar::decay_lr(1, 0) - sgd::scalar::kCount), "decayLr");
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("names", list);
  layout.Set("perTensor", tails);
  return layout;
}

Napi::Value Step(const Napi::CallbackInfo& info) {
  Addon* addon = info.Env().GetInstanceData<Addon>();
  parse(info, addon->step);
  sgd::run(*addon->kernels, addon->step);
  return info.Env().Undefined();
}

// A step on a libuv worker thread. It holds references to the argument lists, which
// hold every array it touches, until the step is over (the caller must not detach or
// change those arrays meanwhile; lib/sgd.ts guarantees it for its own). Plain N-API
// here, with no C++ exceptions: completion may run while a worker thread's environment
// is being torn down, when every call may fail and nothing may throw.
struct AsyncStep {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref lists[5] = {};
  const sgd::Kernels* kernels = nullptr;
  sgd::Step step;
};

void execute_async(napi_env, void* data) {
  AsyncStep* a = static_cast<AsyncStep*>(data);
  sgd::run(*a->kernels, a->step);
}

void complete_async(napi_env env, napi_status status, void* data) {
  AsyncStep* a = static_cast<AsyncStep*>(data);
  napi_value result = nullptr;
  if (status == napi_ok) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, a->deferred, result);
  } else {
    napi_value message = nullptr;
    napi_create_string_utf8(env, "sgd-native: the step was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &result);
    napi_reject_deferred(env, a->deferred, result);
  }
  sgd::in_flight::remove(a);
  for (napi_ref ref : a->lists)
    if (ref != nullptr) napi_delete_reference(env, ref);
  napi_delete_async_work(env, a->work);
  delete a;
}

// stepAsync(same arguments as step) -> Promise<void>
Napi::Value StepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::unique_ptr<AsyncStep> a(new AsyncStep());
  a->kernels = env.GetInstanceData<Addon>()->kernels;
  parse(info, a->step);  // throws (to JS) before anything is queued
  napi_value promise, name;
  if (napi_create_promise(env, &a->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "sgd-native:step", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, execute_async, complete_async, a.get(), &a->work) != napi_ok)
    throw Napi::Error::New(env, "stepAsync(): could not start the step");
  // Registered until completion, checked against every step in flight in the same lock.
  std::string why = sgd::in_flight::add(a.get(), env, a->step.ranges);
  if (!why.empty()) {
    napi_delete_async_work(env, a->work);
    throw Napi::Error::New(env, "stepAsync(): " + why);
  }
  for (size_t i = 0; i < 5; ++i)
    if (info[i].IsObject()) napi_create_reference(env, info[i], 1, &a->lists[i]);
  if (napi_queue_async_work(env, a->work) != napi_ok) {
    sgd::in_flight::remove(a.get());
    for (napi_ref ref : a->lists)
      if (ref != nullptr) napi_delete_reference(env, ref);
    napi_delete_async_work(env, a->work);
    throw Napi::Error::New(env, "stepAsync(): could not queue the step");
  }
  a.release();
  return Napi::Value(env, promise);
}

// numThreads() / setNumThreads(n): threads a step may use (SGD_NATIVE_THREADS sets the default).
Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), sgd::num_threads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) fail_type(env, "setNumThreads(): `n` must be a number");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 256) || n != static_cast<int>(n))
    fail_range(env, "setNumThreads(): `n` must be an integer from 1 to 256");
  sgd::set_num_threads(static_cast<int>(n));
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
  // An environment torn down with async steps in flight never completes them: forget their memory.
  napi_add_env_cleanup_hook(
      env, [](void* e) { sgd::in_flight::remove_env(e); }, static_cast<napi_env>(env));
  exports.Set("step", Napi::Function::New(env, Step, "step"));
  exports.Set("isa", Napi::Function::New(env, Isa, "isa"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("stepAsync", Napi::Function::New(env, StepAsync, "stepAsync"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("scalarLayout", ScalarLayout(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
