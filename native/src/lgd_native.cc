// lgd_native: 2-D convolution kernels (forward, backward-data, backward-weights) on oneDNN, for
// the tfjs kernels registered by lib/engine/native.ts.
//
// Calling convention: every tensor is a Float32Array (a view on the tfjs wasm heap, or the values
// array of the tfjs cpu backend). The addon reads the inputs and writes the output in place; it
// never allocates JS memory, so a view on the wasm heap stays valid for the whole call.
//
// Layouts, as tfjs uses them:
//   activations NHWC (or NCHW when params[17] == 1), filters HWIO [kh, kw, ci, co],
//   bias [co].
// Shape / geometry is one Int32Array `params` of 18 values:
//   0 N, 1 H, 2 W, 3 C, 4 KH, 5 KW, 6 O, 7 OH, 8 OW, 9 SH, 10 SW, 11 DH, 12 DW,
//   13 padTop, 14 padLeft, 15 padBottom, 16 padRight, 17 nchw (0/1)
// Dilations are tfjs-style (1 = dense); oneDNN's are that minus one.
//
// Each distinct (kind, params, bias, activation) gets a primitive built once and cached (on its
// first call, oneDNN's implementations are timed and the fastest kept, see `lookup`). The
// activations are used in the caller's layout (no reorder: they are the large tensors); the
// filters use whatever blocked layout oneDNN prefers ("any") and are reordered from / to HWIO on
// each call (a few thousand values).
//
// Threads: oneDNN's CPU runtime in Debian's build is OpenMP (libgomp); setThreads() sets the
// OpenMP thread count of the calling (JS main) thread and drops the cache, since oneDNN plans its
// work partition when a primitive is created.

#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <cstdarg>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using dims = memory::dims;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr int kParams = 18;

struct Geometry {
  int64_t N, H, W, C, KH, KW, O, OH, OW, SH, SW, DH, DW, PT, PL, PB, PR;
  bool nchw;

  memory::desc src() const { return memory::desc({N, C, H, W}, dt::f32, nchw ? tag::nchw : tag::nhwc); }
  memory::desc dst() const { return memory::desc({N, O, OH, OW}, dt::f32, nchw ? tag::nchw : tag::nhwc); }
  memory::desc weightsUser() const { return memory::desc({O, C, KH, KW}, dt::f32, tag::hwio); }
  memory::desc weightsAny() const { return memory::desc({O, C, KH, KW}, dt::f32, tag::any); }
  memory::desc bias() const { return memory::desc({O}, dt::f32, tag::x); }
  dims strides() const { return {SH, SW}; }
  dims dilates() const { return {DH - 1, DW - 1}; }
  dims padL() const { return {PT, PL}; }
  dims padR() const { return {PB, PR}; }
  int64_t srcSize() const { return N * H * W * C; }
  int64_t dstSize() const { return N * OH * OW * O; }
  int64_t weightsSize() const { return KH * KW * C * O; }
  double flops() const { return 2.0 * dstSize() * KH * KW * C; }
};

dnnl::engine& cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

/** A cached primitive plus the filter reorder it needs (user HWIO <-> oneDNN's preferred layout). */
struct Entry {
  dnnl::primitive prim;
  memory::desc weightsPrim;  // the layout the primitive wants for (diff_)weights
  bool reorderWeights = false;
  dnnl::reorder weightsReorder;  // HWIO -> weightsPrim (fwd, bwd-data) or weightsPrim -> HWIO (bwd-weights)
  memory weightsBuffer;          // owned scratch in weightsPrim layout
  std::string impl;              // oneDNN's implementation name
  std::string tuning;            // "impl ms, impl ms, ..." measured when it was chosen
};

std::unordered_map<std::string, std::unique_ptr<Entry>> cache;
int threads = 0;
// Autotuning (default on, LGD_NATIVE_AUTOTUNE=0 disables): on the first call of a shape, every
// non-reference implementation oneDNN offers is timed on the call's own buffers and the fastest
// is kept. oneDNN's first choice is not always the best here (e.g. brgconv vs jit forward, jit vs
// gemm backward-data for 2 input channels).
bool autotune = true;
// LGD_NATIVE_TRACE=1: one stderr line per convolution call (pass and geometry) and per candidate
// timed by the autotuner, flushed at once, so that the last line before a crash names the culprit.
/** A boolean LGD_* flag: unset or empty gives `fallback`; a value starting with 0, f or n is false; any other true. */
bool envFlag(const char* name, bool fallback) {
  const char* v = getenv(name);
  if (!v || !v[0]) return fallback;
  return !(v[0] == '0' || v[0] == 'f' || v[0] == 'n');
}

bool traceCalls = false;
__attribute__((format(printf, 1, 2))) void trace(const char* format, ...) {
  if (!traceCalls) return;
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fflush(stderr);
}
void traceCall(char kind, const Geometry& g) {
  trace("[native] %c N%ld H%ld W%ld C%ld K%ldx%ld O%ld OH%ld OW%ld S%ld,%ld D%ld,%ld P%ld,%ld,%ld,%ld\n", kind, (long)g.N, (long)g.H, (long)g.W, (long)g.C, (long)g.KH, (long)g.KW, (long)g.O, (long)g.OH, (long)g.OW, (long)g.SH, (long)g.SW, (long)g.DH, (long)g.DW, (long)g.PT, (long)g.PL, (long)g.PB, (long)g.PR);
}

std::string makeKey(char kind, const int32_t* p, int extra0, float extra1) {
  std::string key(1, kind);
  key.append(reinterpret_cast<const char*>(p), sizeof(int32_t) * kParams);
  key.append(reinterpret_cast<const char*>(&extra0), sizeof extra0);
  key.append(reinterpret_cast<const char*>(&extra1), sizeof extra1);
  return key;
}

Geometry toGeometry(const int32_t* p) {
  Geometry g{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17] != 0};
  return g;
}

dnnl::primitive_attr activationAttr(int act, float alpha) {
  dnnl::primitive_attr attr;
  if (act != 0) {
    dnnl::post_ops ops;
    switch (act) {
      case 1: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
      case 2: ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
      case 3: ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
      case 4: ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
      case 5: ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
      default: throw std::runtime_error("unknown activation code");
    }
    attr.set_post_ops(ops);
  }
  return attr;
}

dnnl::convolution_forward::desc forwardOpDesc(const Geometry& g, bool withBias) {
  if (withBias) {
    return dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, g.src(), g.weightsAny(), g.bias(), g.dst(),
                                           g.strides(), g.dilates(), g.padL(), g.padR());
  }
  return dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, g.src(), g.weightsAny(), g.dst(), g.strides(),
                                         g.dilates(), g.padL(), g.padR());
}

void setupWeights(Entry& e, const Geometry& g, const memory::desc& primWeights, bool toUser) {
  e.weightsPrim = primWeights;
  memory::desc user = g.weightsUser();
  e.reorderWeights = !(primWeights == user);
  if (e.reorderWeights) {
    e.weightsBuffer = memory(primWeights, cpuEngine());
    dnnl::reorder::primitive_desc rpd = toUser ? dnnl::reorder::primitive_desc(cpuEngine(), primWeights, cpuEngine(), user)
                                               : dnnl::reorder::primitive_desc(cpuEngine(), user, cpuEngine(), primWeights);
    e.weightsReorder = dnnl::reorder(rpd);
  }
}

using Candidates = std::vector<std::unique_ptr<Entry>>;

/**
 * One Entry per implementation of `pd` (all of them when autotuning, else oneDNN's first).
 * `avoidGemm` passes over the gemm-based implementations (see ConvBackwardData); the result is
 * empty when nothing else is left.
 */
template <typename Prim, typename PD, typename WeightsOf>
Candidates candidates(PD& pd, const Geometry& g, WeightsOf weightsOf, bool toUser, bool avoidGemm = false) {
  Candidates out;
  // Tiny convs (< 4 MFLOP) are not worth tuning: timings would be noise.
  const bool tune = autotune && g.flops() >= 4e6;
  do {
    std::string impl = pd.impl_info_str();
    if (!out.empty() && impl.rfind("ref", 0) == 0) continue;  // reference loops: never the fastest
    if (avoidGemm && impl.find("gemm") != std::string::npos) continue;
    // SSE4.1 kernels: never the fastest where a wider ISA runs, and oneDNN 2.6.3's jit_1x1:sse41
    // forward crashed (SIGSEGV) while being timed on a 1x1 conv 256 -> 768 channels, batch 8 of
    // 16x16 (the strided RIM cell's GRU), depending on where the buffers lay in the heap.
    if (!out.empty() && impl.size() > 6 && impl.compare(impl.size() - 6, 6, ":sse41") == 0) continue;
    auto e = std::make_unique<Entry>();
    e->prim = Prim(pd);
    e->impl = impl;
    setupWeights(*e, g, weightsOf(pd), toUser);
    out.push_back(std::move(e));
  } while ((tune || out.empty()) && pd.next_impl());  // untuned: the first one not passed over
  return out;
}

double nowMs() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/**
 * The cached Entry for `key`, else the fastest of `build()`'s candidates, each timed with
 * `run` (which executes a candidate on the current call's buffers; the caller runs the chosen
 * one again afterwards, so the result never depends on which candidate ran last).
 */
template <typename Build, typename Run>
Entry& lookup(const std::string& key, Build build, Run run) {
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  Candidates c = build();
  size_t best = 0;
  if (c.size() > 1) {
    double bestMs = 1e300;
    std::string tuning;
    for (size_t i = 0; i < c.size(); ++i) {
      trace("[native]   candidate %s\n", c[i]->impl.c_str());
      double t0 = nowMs();
      run(*c[i]);  // first run: page faults, caches
      double ms = nowMs() - t0;
      if (ms < 4 * bestMs) {
        for (int r = 0; r < 2; ++r) {
          t0 = nowMs();
          run(*c[i]);
          ms = std::min(ms, nowMs() - t0);
        }
      }
      char buf[96];
      snprintf(buf, sizeof buf, "%s%s %.3f ms", i ? ", " : "", c[i]->impl.c_str(), ms);
      tuning += buf;
      if (ms < bestMs) {
        bestMs = ms;
        best = i;
      }
    }
    c[best]->tuning = tuning;
    trace("[native]   tuned: %s -> %s\n", tuning.c_str(), c[best]->impl.c_str());
  }
  Entry& ref = *c[best];
  cache.emplace(key, std::move(c[best]));
  return ref;
}

// ---------------------------------------------------------------------------------------------
// N-API glue

struct JsError {
  std::string message;
};

#define NAPI_OK(call)                                         \
  do {                                                        \
    if ((call) != napi_ok) throw JsError{"N-API call failed: " #call}; \
  } while (0)

/** Data pointer of a Float32Array argument with at least `need` elements (null allowed if `optional`). */
float* floatArray(napi_env env, napi_value v, int64_t need, const char* what, bool optional = false) {
  napi_valuetype vt;
  NAPI_OK(napi_typeof(env, v, &vt));
  if (optional && (vt == napi_null || vt == napi_undefined)) return nullptr;
  bool isTyped = false;
  NAPI_OK(napi_is_typedarray(env, v, &isTyped));
  if (!isTyped) throw JsError{std::string(what) + ": expected a Float32Array"};
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  NAPI_OK(napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset));
  if (type != napi_float32_array) throw JsError{std::string(what) + ": expected a Float32Array"};
  if (static_cast<int64_t>(length) < need) {
    throw JsError{std::string(what) + ": has " + std::to_string(length) + " elements, needs " + std::to_string(need)};
  }
  return static_cast<float*>(data);
}

const int32_t* paramsArray(napi_env env, napi_value v) {
  bool isTyped = false;
  NAPI_OK(napi_is_typedarray(env, v, &isTyped));
  napi_typedarray_type type = napi_float32_array;
  size_t length = 0;
  void* data = nullptr;
  napi_value ab;
  size_t offset;
  if (isTyped) NAPI_OK(napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset));
  if (!isTyped || type != napi_int32_array || length < kParams) throw JsError{"params: expected an Int32Array of 18 values"};
  const int32_t* p = static_cast<const int32_t*>(data);
  for (int i = 0; i < 13; ++i)
    if (p[i] <= 0) throw JsError{"params: sizes, strides and dilations must be positive"};
  for (int i = 13; i < 17; ++i)
    if (p[i] < 0) throw JsError{"params: negative padding"};
  return p;
}

int32_t intArg(napi_env env, napi_value v) {
  int32_t r = 0;
  NAPI_OK(napi_get_value_int32(env, v, &r));
  return r;
}

double numberArg(napi_env env, napi_value v) {
  double r = 0;
  NAPI_OK(napi_get_value_double(env, v, &r));
  return r;
}

template <size_t K>
void getArgs(napi_env env, napi_callback_info info, napi_value (&argv)[K], size_t minArgs) {
  size_t argc = K;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < minArgs) throw JsError{"expected " + std::to_string(minArgs) + " arguments"};
  napi_value undef;
  NAPI_OK(napi_get_undefined(env, &undef));
  for (size_t i = argc; i < K; ++i) argv[i] = undef;
}

/** Runs `body`, turning C++ / oneDNN exceptions into JS exceptions. */
template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const JsError& e) {
    napi_throw_error(env, "LGD_NATIVE", e.message.c_str());
  } catch (const dnnl::error& e) {
    std::string msg = std::string("oneDNN: ") + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")";
    napi_throw_error(env, "LGD_NATIVE_DNNL", msg.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "LGD_NATIVE", e.what());
  }
  return nullptr;
}

napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// convForward(x, w, bias | null, y, params, act = 0, alpha = 0)
napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[7];
    getArgs(env, info, argv, 5);
    const int32_t* p = paramsArray(env, argv[4]);
    Geometry g = toGeometry(p);
    float* x = floatArray(env, argv[0], g.srcSize(), "x");
    float* w = floatArray(env, argv[1], g.weightsSize(), "filter");
    float* b = floatArray(env, argv[2], g.O, "bias", true);
    float* y = floatArray(env, argv[3], g.dstSize(), "y");
    napi_valuetype t5, t6;
    NAPI_OK(napi_typeof(env, argv[5], &t5));
    NAPI_OK(napi_typeof(env, argv[6], &t6));
    int act = t5 == napi_number ? intArg(env, argv[5]) : 0;
    float alpha = t6 == napi_number ? static_cast<float>(numberArg(env, argv[6])) : 0.f;
    if (act != 5) alpha = 0.f;
    auto& eng = cpuEngine();
    auto& s = cpuStream();
    memory src(g.src(), eng, x), dst(g.dst(), eng, y), wUser(g.weightsUser(), eng, w);
    auto run = [&](Entry& e) {
      memory wPrim = wUser;
      if (e.reorderWeights) {
        e.weightsReorder.execute(s, wUser, e.weightsBuffer);
        wPrim = e.weightsBuffer;
      }
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wPrim}, {DNNL_ARG_DST, dst}};
      if (b) args.emplace(DNNL_ARG_BIAS, memory(g.bias(), eng, b));
      e.prim.execute(s, args);
      s.wait();
    };
    auto build = [&]() {
      // The op descriptor and attributes must outlive the implementation iterator (next_impl).
      dnnl::convolution_forward::desc d = forwardOpDesc(g, b != nullptr);
      dnnl::primitive_attr attr = activationAttr(act, alpha);
      dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
      return candidates<dnnl::convolution_forward>(pd, g, [](const auto& d) { return d.weights_desc(); }, false);
    };
    traceCall('F', g);
    run(lookup(makeKey(b ? 'B' : 'F', p, act, alpha), build, run));
    return undefinedValue(env);
  });
}

// convBackwardData(dy, w, dx, params): dx = conv2d^T(dy, w)
napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    getArgs(env, info, argv, 4);
    const int32_t* p = paramsArray(env, argv[3]);
    Geometry g = toGeometry(p);
    float* dy = floatArray(env, argv[0], g.dstSize(), "dy");
    float* w = floatArray(env, argv[1], g.weightsSize(), "filter");
    float* dx = floatArray(env, argv[2], g.srcSize(), "dx");
    auto& eng = cpuEngine();
    auto& s = cpuStream();
    memory diffDst(g.dst(), eng, dy), diffSrc(g.src(), eng, dx), wUser(g.weightsUser(), eng, w);
    auto run = [&](Entry& e) {
      memory wPrim = wUser;
      if (e.reorderWeights) {
        e.weightsReorder.execute(s, wUser, e.weightsBuffer);
        wPrim = e.weightsBuffer;
      }
      e.prim.execute(s, {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, wPrim}, {DNNL_ARG_DIFF_SRC, diffSrc}});
      s.wait();
    };
    auto build = [&]() {
      dnnl::convolution_forward::desc fd = forwardOpDesc(g, false);
      dnnl::convolution_forward::primitive_desc hint(fd, eng);
      dnnl::convolution_backward_data::desc d(algorithm::convolution_direct, g.src(), g.weightsAny(), g.dst(), g.strides(), g.dilates(), g.padL(),
                                              g.padR());
      // oneDNN 2.6.3's gemm backward-data (x64:gemm:jit, which the autotuning picked for the
      // F = 64 RIM's 3x3 64 -> 192 GRU conv, NHWC, batch 8 of 32x32) corrupted the malloc heap:
      // about one training start in four aborted within 30 steps ("corrupted size vs. prev_size"
      // raised in a free inside that primitive), none in ten without it. The direct jit kernels
      // time within a few percent of it there; gemm stays only where nothing else exists.
      dnnl::convolution_backward_data::primitive_desc pd(d, eng, hint);
      auto weightsOf = [](const auto& q) { return q.weights_desc(); };
      Candidates c = candidates<dnnl::convolution_backward_data>(pd, g, weightsOf, false, true);
      if (!c.empty()) return c;
      dnnl::convolution_backward_data::primitive_desc any(d, eng, hint);
      return candidates<dnnl::convolution_backward_data>(any, g, weightsOf, false);
    };
    traceCall('D', g);
    run(lookup(makeKey('D', p, 0, 0.f), build, run));
    return undefinedValue(env);
  });
}

// convBackwardWeights(x, dy, dw, params): dw[kh, kw, ci, co]
napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    getArgs(env, info, argv, 4);
    const int32_t* p = paramsArray(env, argv[3]);
    Geometry g = toGeometry(p);
    float* x = floatArray(env, argv[0], g.srcSize(), "x");
    float* dy = floatArray(env, argv[1], g.dstSize(), "dy");
    float* dw = floatArray(env, argv[2], g.weightsSize(), "dw");
    auto& eng = cpuEngine();
    auto& s = cpuStream();
    memory src(g.src(), eng, x), diffDst(g.dst(), eng, dy), wUser(g.weightsUser(), eng, dw);
    auto run = [&](Entry& e) {
      memory wPrim = e.reorderWeights ? e.weightsBuffer : wUser;
      e.prim.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, wPrim}});
      if (e.reorderWeights) e.weightsReorder.execute(s, e.weightsBuffer, wUser);
      s.wait();
    };
    auto build = [&]() {
      dnnl::convolution_forward::desc fd = forwardOpDesc(g, false);
      dnnl::convolution_forward::primitive_desc hint(fd, eng);
      dnnl::convolution_backward_weights::desc d(algorithm::convolution_direct, g.src(), g.weightsAny(), g.dst(), g.strides(), g.dilates(),
                                                 g.padL(), g.padR());
      dnnl::convolution_backward_weights::primitive_desc pd(d, eng, hint);
      return candidates<dnnl::convolution_backward_weights>(pd, g, [](const auto& q) { return q.diff_weights_desc(); }, true);
    };
    traceCall('W', g);
    run(lookup(makeKey('W', p, 0, 0.f), build, run));
    return undefinedValue(env);
  });
}

// implInfo(kind 'F'|'D'|'W', params): "impl [(weights reordered)] [; tuned: impl ms, ...]" of the
// cached primitive (forward: without bias / activation), or null when that shape has not run yet.
napi_value ImplInfo(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[2];
    getArgs(env, info, argv, 2);
    char kind[4] = {0};
    size_t len = 0;
    NAPI_OK(napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &len));
    const int32_t* p = paramsArray(env, argv[1]);
    auto it = cache.find(makeKey(kind[0] == 'D' || kind[0] == 'W' ? kind[0] : 'F', p, 0, 0.f));
    napi_value r;
    if (it == cache.end()) {
      NAPI_OK(napi_get_null(env, &r));
      return r;
    }
    const Entry& e = *it->second;
    std::string s = e.impl + (e.reorderWeights ? " (weights reordered)" : "") + (e.tuning.empty() ? "" : "; tuned: " + e.tuning);
    NAPI_OK(napi_create_string_utf8(env, s.c_str(), s.size(), &r));
    return r;
  });
}

const char* isaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "other";
  }
}

void setProp(napi_env env, napi_value obj, const char* name, napi_value v) { NAPI_OK(napi_set_named_property(env, obj, name, v)); }

napi_value makeString(napi_env env, const std::string& s) {
  napi_value r;
  NAPI_OK(napi_create_string_utf8(env, s.c_str(), s.size(), &r));
  return r;
}

napi_value makeNumber(napi_env env, double d) {
  napi_value r;
  NAPI_OK(napi_create_double(env, d, &r));
  return r;
}

// info(): { version, hash, cpuRuntime, threads, isa, cached, autotune }
napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    napi_value obj;
    NAPI_OK(napi_create_object(env, &obj));
    setProp(env, obj, "version", makeString(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
    setProp(env, obj, "hash", makeString(env, v->hash ? v->hash : ""));
    const char* rt = v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB" : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : "other";
    setProp(env, obj, "cpuRuntime", makeString(env, rt));
    setProp(env, obj, "threads", makeNumber(env, omp_get_max_threads()));
    setProp(env, obj, "isa", makeString(env, isaName(dnnl::get_effective_cpu_isa())));
    setProp(env, obj, "cached", makeNumber(env, static_cast<double>(cache.size())));
    napi_value tune;
    NAPI_OK(napi_get_boolean(env, autotune, &tune));
    setProp(env, obj, "autotune", tune);
    return obj;
  });
}

// setThreads(n): OpenMP threads for the following calls (drops cached primitives).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[1];
    getArgs(env, info, argv, 1);
    int n = intArg(env, argv[0]);
    if (n < 1) throw JsError{"setThreads: n must be >= 1"};
    if (n != threads) {
      omp_set_num_threads(n);
      threads = n;
      cache.clear();
    }
    return makeNumber(env, omp_get_max_threads());
  });
}

// ---------------------------------------------------------------------------------------------
// Fused conv-GRU gate (element-wise), forward and backward.
//
//   r = σ(xr + ur), z = σ(xz + uz), n = tanh(xn + r·hn), h' = n + z·(h − n)
//
// tanh(a) = 2σ(2a) − 1 as the library's JS path (fastTanh). σ uses expApprox: Cody–Waite range
// reduction and a degree-6 polynomial (relative error ~1e-7 on the float32 range), written
// branch-free so that the compiler vectorises the loops (target_clones: AVX-512 / AVX2 / SSE2).
// The backward recomputes r, z, n from the saved inputs (cheaper than storing them).

inline float expApprox(float x) {
  x = std::min(88.3762626647949f, std::max(-87.3365447504019f, x));
  const float k = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;  // x − k·ln2 (ln2 split hi/lo)
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k (k in [−126, 127] after the clamp)
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoidApprox(float a) { return 1.f / (1.f + expApprox(-a)); }

// ih = W x + b_i and hh = U h + b_h are [P, 3F] (gates r | z | n on the channels), h and h' [P, F].
__attribute__((target_clones("avx512f", "avx2", "default")))
void gruGateForward(const float* __restrict__ ih, const float* __restrict__ hh, const float* __restrict__ h, float* __restrict__ out,
                    int64_t F, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const float* __restrict__ a = ih + p * 3 * F;
    const float* __restrict__ u = hh + p * 3 * F;
    const float* __restrict__ hp = h + p * F;
    float* __restrict__ o = out + p * F;
    for (int64_t c = 0; c < F; ++c) {
      const float r = sigmoidApprox(a[c] + u[c]);
      const float z = sigmoidApprox(a[F + c] + u[F + c]);
      const float n = 2.f * sigmoidApprox(2.f * (a[2 * F + c] + r * u[2 * F + c])) - 1.f;
      o[c] = n + z * (hp[c] - n);
    }
  }
}

// dih = [∂r-pre, ∂z-pre, ∂n-pre], dhh = [∂r-pre, ∂z-pre, ∂(U_n h + b_hn)], dh = ∂h through the gate.
__attribute__((target_clones("avx512f", "avx2", "default")))
void gruGateBackward(const float* __restrict__ ih, const float* __restrict__ hh, const float* __restrict__ h, const float* __restrict__ dy,
                     float* __restrict__ dih, float* __restrict__ dhh, float* __restrict__ dh, int64_t F, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const float* __restrict__ a = ih + p * 3 * F;
    const float* __restrict__ u = hh + p * 3 * F;
    const float* __restrict__ hp = h + p * F;
    const float* __restrict__ g = dy + p * F;
    float* __restrict__ di = dih + p * 3 * F;
    float* __restrict__ du = dhh + p * 3 * F;
    float* __restrict__ dhp = dh + p * F;
    for (int64_t c = 0; c < F; ++c) {
      const float r = sigmoidApprox(a[c] + u[c]);
      const float z = sigmoidApprox(a[F + c] + u[F + c]);
      const float hn = u[2 * F + c];
      const float n = 2.f * sigmoidApprox(2.f * (a[2 * F + c] + r * hn)) - 1.f;
      const float gn = g[c] * (1.f - z) * (1.f - n * n);  // ∂/∂(xn + r·hn)
      const float gr = gn * hn * r * (1.f - r);
      const float gz = g[c] * (hp[c] - n) * z * (1.f - z);
      di[c] = gr;
      du[c] = gr;
      di[F + c] = gz;
      du[F + c] = gz;
      di[2 * F + c] = gn;
      du[2 * F + c] = gn * r;
      dhp[c] = g[c] * z;
    }
  }
}

/** Runs body(begin, end) over the items [0, items) on the OpenMP threads (one thread below ~64k values of work). */
template <typename F>
void parallelRange(int64_t work, int64_t items, F&& body) {
  const int64_t grain = 65536;
  const int teams = static_cast<int>(std::min<int64_t>({static_cast<int64_t>(std::max(threads, 1)), (work + grain - 1) / grain, items}));
  if (teams <= 1) {
    if (items > 0) body(0, items);
    return;
  }
#pragma omp parallel num_threads(teams)
  {
    const int t = omp_get_thread_num();
    const int64_t chunk = (items + teams - 1) / teams;
    const int64_t b = std::min(items, t * chunk), e = std::min(items, b + chunk);
    if (b < e) body(b, e);
  }
}

int64_t sizeArg(napi_env env, napi_value v, const char* what) {
  const double d = numberArg(env, v);
  if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d))) throw JsError{std::string(what) + ": expected a size >= 0"};
  return static_cast<int64_t>(d);
}

// gruGate(ih, hh, h, out, P, F): ih, hh [P, 3F]; h, out [P, F]
napi_value GruGate(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[6];
    getArgs(env, info, argv, 6);
    const int64_t P = sizeArg(env, argv[4], "gruGate: P"), F = sizeArg(env, argv[5], "gruGate: F");
    const float* ih = floatArray(env, argv[0], 3 * P * F, "gruGate: ih");
    const float* hh = floatArray(env, argv[1], 3 * P * F, "gruGate: hh");
    const float* h = floatArray(env, argv[2], P * F, "gruGate: h");
    float* out = floatArray(env, argv[3], P * F, "gruGate: out");
    trace("[native] gruGate P%ld F%ld\n", (long)P, (long)F);
    parallelRange(P * F, P, [&](int64_t b, int64_t e) { gruGateForward(ih, hh, h, out, F, b, e); });
    return undefinedValue(env);
  });
}

// gruGateGrad(ih, hh, h, dy, dih, dhh, dh, P, F)
napi_value GruGateGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[9];
    getArgs(env, info, argv, 9);
    const int64_t P = sizeArg(env, argv[7], "gruGateGrad: P"), F = sizeArg(env, argv[8], "gruGateGrad: F");
    const float* ih = floatArray(env, argv[0], 3 * P * F, "gruGateGrad: ih");
    const float* hh = floatArray(env, argv[1], 3 * P * F, "gruGateGrad: hh");
    const float* h = floatArray(env, argv[2], P * F, "gruGateGrad: h");
    const float* dy = floatArray(env, argv[3], P * F, "gruGateGrad: dy");
    float* dih = floatArray(env, argv[4], 3 * P * F, "gruGateGrad: dih");
    float* dhh = floatArray(env, argv[5], 3 * P * F, "gruGateGrad: dhh");
    float* dh = floatArray(env, argv[6], P * F, "gruGateGrad: dh");
    parallelRange(P * F, P, [&](int64_t b, int64_t e) { gruGateBackward(ih, hh, h, dy, dih, dhh, dh, F, b, e); });
    return undefinedValue(env);
  });
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  cache.clear();
  return undefinedValue(env);
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"implInfo", nullptr, ImplInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCache", nullptr, ClearCache, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruGate", nullptr, GruGate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruGateGrad", nullptr, GruGateGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  threads = omp_get_max_threads();
  autotune = envFlag("LGD_NATIVE_AUTOTUNE", true);
  traceCalls = envFlag("LGD_NATIVE_TRACE", false);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
