#include "binding/env_state.h"

namespace sockudo::binding {

JsScope::JsScope(napi_env env) : env_(env) {
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &resource_);
  napi_create_string_utf8(env, "sockudo-ws", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &context_);
}

JsScope::~JsScope() {
  if (context_ != nullptr) napi_async_destroy(env_, context_);
  if (resource_ != nullptr) napi_delete_reference(env_, resource_);
}

void JsScope::open() {
  napi_open_handle_scope(env_, &handle_scope_);
  napi_value resource;
  napi_get_reference_value(env_, resource_, &resource);
  napi_open_callback_scope(env_, resource, context_, &callback_scope_);
}

void JsScope::close() {
  napi_close_callback_scope(env_, callback_scope_);
  napi_close_handle_scope(env_, handle_scope_);
  callback_scope_ = nullptr;
  handle_scope_ = nullptr;
}

napi_value call_handler(EnvState& state, Napi::Env env, const Napi::FunctionReference& fn,
                        std::initializer_list<napi_value> args) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (state.tearing_down || fn.IsEmpty()) return undefined;
  state.loop->ensure_js();
  napi_value result = undefined;
  const napi_status status = napi_call_function(env, undefined, fn.Value(), args.size(), args.begin(), &result);
  if (status != napi_ok) result = undefined;
  // A handler that threw leaves napi_pending_exception (no separate check per event: this runs
  // for every message).
  bool pending = status == napi_pending_exception;
  if (!pending && status != napi_ok) napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);  // → process 'uncaughtException'
    return undefined;
  }
  return result;
}

}  // namespace sockudo::binding
