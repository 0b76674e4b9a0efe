// The N-API surface: unpack and check arguments, call the step, nothing else.
// lib/native.ts declares exactly what this file exports.
#include <napi.h>

#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

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
  std::vector<napi_value> args;  // stepBound()'s arguments, when there are many
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

// A state or gradient array `v` (list[i]) must match its variable exactly: same type,
// same length. (Messages are built only on failure: this runs for every tensor of every step.)
void* matching(napi_env env, napi_value v, const char* name, uint32_t i, const View& var, bool nullable) {
  View view;
  if (typed_array(env, v, &view) && view.type == var.type) {
    if (view.length == var.length) return view.data;
    fail_range(env, std::string("step(): ") + name + "[" + std::to_string(i) + "] has " + std::to_string(view.length) +
                        " elements, its variable " + std::to_string(var.length));
  }
  if (nullable) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_null || t == napi_undefined) return nullptr;
  }
  fail_type(
      env, std::string("step(): ") + name + "[" + std::to_string(i) + "] must be a typed array of its variable's type");
}

void* matching(const Napi::CallbackInfo& info, Napi::Array list, uint32_t i, const char* name, const View& var,
               bool nullable) {
  napi_value v;
  if (napi_get_element(info.Env(), list, i, &v) != napi_ok) throw Napi::Error::New(info.Env());
  return matching(info.Env(), v, name, i, var, nullable);
}

// variables[i] of a list, checked to be a Float32Array or Float64Array (`value`: the array itself, when wanted).
View variable_at(Napi::Env env, Napi::Array vars, uint32_t i, const char* where, napi_value* value) {
  napi_value v;
  if (napi_get_element(env, vars, i, &v) != napi_ok) throw Napi::Error::New(env);
  View var;
  if (!typed_array(env, v, &var) || !is_float_array(var))
    fail_type(env,
              std::string(where) + ": variables[" + std::to_string(i) + "] must be a Float32Array or Float64Array");
  if (value != nullptr) *value = v;
  return var;
}

// The checks and fills every step shares (step, stepAsync, a bound step), in order:
// begin_step, then add_tensor per tensor, then end_step.

// Checks `scalars` for a step over n tensors with the given state lists, and reads the hyperparameters.
void begin_step(Napi::Env env, sgd::Step& st, const View& scalars, uint32_t n, bool moms, bool avgs, bool accs) {
  namespace scalar = sgd::scalar;
  if (scalars.type != napi_float64_array) fail_type(env, "step(): `scalars` has the wrong type");
  if (scalars.length < scalar::length(n)) fail_range(env, "step(): `scalars` is too short");
  const double* x = static_cast<const double*>(scalars.data);
  const int clip = static_cast<int>(x[scalar::clip]);
  if (clip < 0 || clip > 3 || !(x[scalar::mode] == 0 || x[scalar::mode] == 1)) fail_range(env, "step(): bad `scalars`");
  const bool accumulate = x[scalar::mode] == 1 || x[scalar::accumSteps] != 0;
  if (accumulate && !accs) fail_type(env, "step(): gradient accumulation needs `accumulators`");
  if (x[scalar::ema] != 0 && !avgs) fail_type(env, "step(): EMA needs `averages`");
  st.clear();
  sgd::fill_scalars(st.s32, x);
  sgd::fill_scalars(st.s64, x);
  // The momentum slot exists exactly when momentum != 0 (even one that rounds to 0 in float32).
  st.s32.momentum_on = st.s64.momentum_on = moms;
  st.clip_value = x[scalar::clipValue];
}

// Tensor i of n: its variable (checked: a float array) and the matching gradient and
// state pointers (null when absent), with the memory it touches.
void add_tensor(sgd::Step& st, const double* x, uint32_t n, uint32_t i, const View& var, void* g, void* m, void* a,
                void* c) {
  namespace scalar = sgd::scalar;
  const std::size_t bytes = var.length * (var.type == napi_float64_array ? sizeof(double) : sizeof(float));
  const void* const parts[] = {var.data, g, m, a, c};
  const sgd::Role roles[] = {sgd::Role::kVariable, sgd::Role::kGrad, sgd::Role::kMomentum, sgd::Role::kAverage,
                             sgd::Role::kAccumulator};
  // (Each entry is filled in place: a struct of mixed-width fields built on the stack and
  // then copied stalls store forwarding, which cost more than the rest of this function.)
  for (int k = 0; k < 5; ++k)
    if (parts[k] != nullptr && bytes > 0) {
      sgd::Range& r = st.ranges.emplace_back();
      r.begin = reinterpret_cast<std::uintptr_t>(parts[k]);
      r.end = r.begin + bytes;
      r.role = roles[k];
      r.tensor = i;
    }
  const bool f64 = var.type == napi_float64_array;
  st.is_f64.push_back(f64);
  st.index.push_back(f64 ? st.f64.size() : st.f32.size());
  auto fill = [&](auto& t, auto* data) {
    using T = std::remove_pointer_t<decltype(data)>;
    t.var = data;
    t.grad = static_cast<const T*>(g);
    t.momentum = static_cast<T*>(m);
    t.average = static_cast<T*>(a);
    t.accumulator = static_cast<T*>(c);
    t.size = var.length;
    t.decay = x[scalar::decay_on(n, i)] != 0;
    t.decay_lr = static_cast<T>(x[scalar::decay_lr(n, i)]);
    t.clip_factor = T(0);
  };
  if (f64)
    fill(st.f64.emplace_back(), static_cast<double*>(var.data));
  else
    fill(st.f32.emplace_back(), static_cast<float*>(var.data));
}

// The sharing checks, on real addresses: two JS objects (a SharedArrayBuffer and its clone)
// may map the same memory. (The same memory as the last step checked needs no new check:
// the common case.)
void end_step(Napi::Env env, sgd::Step& st) {
  if (st.ranges != st.checked) {
    st.sorted = st.ranges;
    const std::string why = sgd::check_disjoint(st.sorted);
    if (!why.empty()) fail_range(env, "step(): " + why);
    st.checked = st.ranges;
  }
  const std::string why = sgd::in_flight::conflict(st.ranges);
  if (!why.empty()) throw Napi::Error::New(env, "step(): " + why);
}

// Reads the arguments of step()/stepAsync() into `st`, checking everything memory
// safety depends on: types, lengths, which state lists the scalars need.
// step(variables, grads, momentums|null, averages|null, accumulators|null, scalars: Float64Array)
// with `scalars` laid out as scalars.h says.
// (Six arguments: node-addon-api allocates for a call with more.)
void parse(const Napi::CallbackInfo& info, sgd::Step& st) {
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
  View scalars;
  if (!typed_array(env, info[5], &scalars)) fail_type(env, "step(): `scalars` has the wrong type");
  begin_step(env, st, scalars, n, !moms.IsEmpty(), !avgs.IsEmpty(), !accs.IsEmpty());
  const double* x = static_cast<const double*>(scalars.data);
  for (uint32_t i = 0; i < n; ++i) {
    const View var = variable_at(env, vars, i, "step()", nullptr);
    void* g = matching(info, grads, i, "grads", var, true);
    void* m = moms.IsEmpty() ? nullptr : matching(info, moms, i, "momentums", var, false);
    void* a = avgs.IsEmpty() ? nullptr : matching(info, avgs, i, "averages", var, false);
    void* c = accs.IsEmpty() ? nullptr : matching(info, accs, i, "accumulators", var, false);
    add_tensor(st, x, n, i, var, g, m, a, c);
  }
  end_step(env, st);
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

// bind(variables, momentums|null, averages|null, accumulators|null) -> handle: the arrays
// a synchronous step writes, held (by strong references) from one step to the next, so
// that stepBound(handle, scalars, ...grads) reads only the scalars and the gradients from
// its arguments: no list is read element by element. Every held array is checked again
// at every step: one detached or resized since bind() is refused.
struct Bound {
  // One held array: its ArrayBuffer and where the array starts in it (checked at each step
  // by napi_get_arraybuffer_info, which is cheap), or, for an array on memory that is not an
  // ArrayBuffer's (a SharedArrayBuffer), the typed array itself.
  struct Held {
    napi_ref ref;
    bool on_buffer;
    std::size_t offset;  // bytes, when on_buffer
  };
  napi_env env;
  uint32_t n;
  bool lists[3];                           // momentums, averages, accumulators present
  std::vector<Held> held;                  // per tensor: the variable, then its state arrays present
  std::vector<napi_typedarray_type> type;  // per tensor: the variable's type and length when bound
  std::vector<std::size_t> length;
  std::size_t per() const { return 1u + lists[0] + lists[1] + lists[2]; }
  std::size_t bytes(uint32_t i) const {
    return length[i] * (type[i] == napi_float64_array ? sizeof(double) : sizeof(float));
  }
  void release(napi_env e) {
    for (const Held& h : held) napi_delete_reference(e, h.ref);
    held.clear();
  }
};

// The handles alive in this process (any environment): a handle is checked against it
// before it is used, so no other external can pass for one.
std::mutex bound_mutex;
std::unordered_set<const Bound*> bound_alive;

const char* const kStateNames[] = {"momentums", "averages", "accumulators"};

void finalize_bound(napi_env env, void* data, void*) {
  Bound* b = static_cast<Bound*>(data);
  {
    std::lock_guard<std::mutex> lock(bound_mutex);
    bound_alive.erase(b);
  }
  b->release(env);
  delete b;
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array vars = array_arg(info, 0, "variables", false);
  Napi::Array state[3] = {array_arg(info, 1, "momentums", true), array_arg(info, 2, "averages", true),
                          array_arg(info, 3, "accumulators", true)};
  const uint32_t n = vars.Length();
  for (const Napi::Array& list : state)
    if (!list.IsEmpty() && list.Length() != n)
      fail_range(env, "bind(): a state list differs in length from `variables`");
  std::unique_ptr<Bound> b(
      new Bound{env, n, {!state[0].IsEmpty(), !state[1].IsEmpty(), !state[2].IsEmpty()}, {}, {}, {}});
  // v: a float array checked above (the variable, or a state array matching it).
  auto hold = [&](napi_value v) {
    napi_typedarray_type type;
    std::size_t count = 0, offset = 0, length;
    void *data = nullptr, *buffer_data;
    napi_value buffer = nullptr;
    napi_get_typedarray_info(env, v, &type, &count, &data, &buffer, &offset);
    sgd::advise_huge_pages(data, count * (type == napi_float64_array ? sizeof(double) : sizeof(float)));
    const bool on_buffer =
        buffer != nullptr && napi_get_arraybuffer_info(env, buffer, &buffer_data, &length) == napi_ok;
    napi_ref ref;
    if (napi_create_reference(env, on_buffer ? buffer : v, 1, &ref) != napi_ok)
      throw Napi::Error::New(env, "bind(): could not hold an array");
    b->held.push_back({ref, on_buffer, offset});
  };
  try {
    for (uint32_t i = 0; i < n; ++i) {
      napi_value v;
      const View var = variable_at(env, vars, i, "bind()", &v);
      b->type.push_back(var.type);
      b->length.push_back(var.length);
      hold(v);
      for (int k = 0; k < 3; ++k) {
        if (state[k].IsEmpty()) continue;
        napi_value x;
        if (napi_get_element(env, state[k], i, &x) != napi_ok) throw Napi::Error::New(env);
        matching(env, x, kStateNames[k], i, var, false);
        hold(x);
      }
    }
  } catch (...) {
    b->release(env);
    throw;
  }
  napi_value handle;
  if (napi_create_external(env, b.get(), finalize_bound, nullptr, &handle) != napi_ok) {
    b->release(env);
    throw Napi::Error::New(env, "bind(): could not create the handle");
  }
  std::lock_guard<std::mutex> lock(bound_mutex);
  bound_alive.insert(b.release());
  return Napi::Value(env, handle);
}

// The bound array `k` of tensor i (0: the variable, 1 + j: the j-th state list present),
// checked to still hold the variable's type and length.
void* held(Napi::Env env, const Bound& b, uint32_t i, std::size_t k, const char* name) {
  const Bound::Held& h = b.held[i * b.per() + k];
  napi_value v = nullptr;
  napi_get_reference_value(env, h.ref, &v);
  if (v != nullptr) {
    if (h.on_buffer) {
      void* data = nullptr;
      std::size_t length = 0;
      if (napi_get_arraybuffer_info(env, v, &data, &length) == napi_ok && h.offset <= length &&
          b.bytes(i) <= length - h.offset)
        return static_cast<char*>(data) + h.offset;
    } else {
      View view;
      if (typed_array(env, v, &view) && view.type == b.type[i] && view.length == b.length[i]) return view.data;
    }
  }
  fail_range(env, std::string("stepBound(): ") + name + "[" + std::to_string(i) + "] no longer has its " +
                      std::to_string(b.length[i]) + " elements (was its buffer detached or resized?)");
}

// stepBound(handle, scalars, grads[0], ..., grads[n - 1]): step() on the bound arrays.
// The gradients come as arguments (no list to read); a raw Node-API callback, so that a
// call with many arguments allocates nothing.
void step_bound(napi_env raw_env, napi_callback_info cb) {
  Napi::Env env(raw_env);
  napi_value stack_args[16];
  std::size_t argc = 16;
  napi_value* argv = stack_args;
  if (napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr) != napi_ok) throw Napi::Error::New(env);
  if (argc > 16) {  // (a model of more than 14 tensors: grown once, then kept)
    Addon* addon = env.GetInstanceData<Addon>();
    addon->args.resize(argc);
    argv = addon->args.data();
    if (napi_get_cb_info(env, cb, &argc, argv, nullptr, nullptr) != napi_ok) throw Napi::Error::New(env);
  }
  void* data = nullptr;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok)
    fail_type(env, "stepBound(): `handle` must come from bind()");
  {
    std::lock_guard<std::mutex> lock(bound_mutex);
    if (bound_alive.count(static_cast<const Bound*>(data)) == 0)
      fail_type(env, "stepBound(): `handle` must come from bind()");
    // (Only this thread's handles can be finalized while this one runs: ours cannot.)
    if (static_cast<const Bound*>(data)->env != raw_env)
      fail_type(env, "stepBound(): `handle` comes from another thread's bind()");
  }
  const Bound& b = *static_cast<const Bound*>(data);
  if (argc != 2 + std::size_t(b.n))
    fail_range(env, "stepBound(): expected " + std::to_string(b.n) + " gradients, got " +
                        std::to_string(argc < 2 ? 0 : argc - 2));
  View scalars;
  if (!typed_array(env, argv[1], &scalars)) fail_type(env, "step(): `scalars` has the wrong type");
  Addon* addon = env.GetInstanceData<Addon>();
  sgd::Step& st = addon->step;
  begin_step(env, st, scalars, b.n, b.lists[0], b.lists[1], b.lists[2]);
  const double* x = static_cast<const double*>(scalars.data);
  for (uint32_t i = 0; i < b.n; ++i) {
    const View var{b.type[i], b.length[i], held(env, b, i, 0, "variables")};
    void* g = matching(env, argv[2 + i], "grads", i, var, true);
    void* state[3] = {};
    for (std::size_t k = 0, slot = 1; k < 3; ++k)
      if (b.lists[k]) state[k] = held(env, b, i, slot++, kStateNames[k]);
    add_tensor(st, x, b.n, i, var, g, state[0], state[1], state[2]);
  }
  end_step(env, st);
  sgd::run(*addon->kernels, st);
}

napi_value StepBound(napi_env env, napi_callback_info cb) {
  try {
    step_bound(env, cb);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
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
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  napi_value step_bound_fn;
  if (napi_create_function(env, "stepBound", NAPI_AUTO_LENGTH, StepBound, nullptr, &step_bound_fn) != napi_ok)
    throw Napi::Error::New(env, "could not create stepBound");
  exports.Set("stepBound", Napi::Value(env, step_bound_fn));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("scalarLayout", ScalarLayout(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
