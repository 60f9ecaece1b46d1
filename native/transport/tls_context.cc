#include "transport/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstring>

namespace sockudo::transport {

namespace {

constexpr unsigned char kSessionIdContext[] = "sockudo-ws";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

int passphrase_cb(char* buf, int size, int, void* userdata) {
  const auto* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || pass->size() > static_cast<size_t>(size)) return 0;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

int version_of(const std::string& name) {
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1") return TLS1_VERSION;
  return -1;
}

// Node's ciphers option mixes TLS 1.3 suites (TLS_*) into the OpenSSL cipher list; a list without
// any leaves TLS 1.3 without suites, as in Node.
bool set_ciphers(SSL_CTX* ctx, const std::string& ciphers) {
  std::string list, suites;
  size_t start = 0;
  while (start <= ciphers.size()) {
    size_t end = ciphers.find(':', start);
    if (end == std::string::npos) end = ciphers.size();
    const std::string item = ciphers.substr(start, end - start);
    if (!item.empty()) {
      std::string& into = item.rfind("TLS_", 0) == 0 ? suites : list;
      if (!into.empty()) into += ':';
      into += item;
    }
    start = end + 1;
  }
  if (!list.empty() && SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) return false;
  return SSL_CTX_set_ciphersuites(ctx, suites.c_str()) == 1;
}

// The first certificate is the leaf; the rest of the PEM is its chain.
bool use_cert_chain(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio = mem_bio(pem);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) return false;
  const bool ok = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!ok) return false;
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return false;
    }
  }
  ERR_clear_error();  // the end of the PEM reads as an error
  return true;
}

bool add_trusted(SSL_CTX* ctx, const std::string& pem, bool server) {
  BioPtr bio = mem_bio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);  // a duplicate is not an error worth failing for
    if (server) SSL_CTX_add_client_CA(ctx, cert);
    X509_free(cert);
    added++;
  }
  // The end of the PEM reads as an error; with nothing read, that error (no start line) is the
  // answer. (Node ignores a `ca` without certificates; a CA file that trusts nothing is refused
  // here instead of failing every verification later.)
  if (added > 0) ERR_clear_error();
  return added > 0;
}

bool use_pfx(SSL_CTX* ctx, const std::string& der, const std::string& pass, bool server) {
  BioPtr bio = mem_bio(der);
  PKCS12* p12 = d2i_PKCS12_bio(bio.get(), nullptr);
  if (p12 == nullptr) return false;
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  const bool parsed = PKCS12_parse(p12, pass.c_str(), &key, &cert, &chain) == 1;
  PKCS12_free(p12);
  bool ok = parsed && cert != nullptr && key != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, key) == 1;
  if (ok && chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); i++) {
      X509* c = sk_X509_value(chain, i);
      X509_up_ref(c);
      if (SSL_CTX_add0_chain_cert(ctx, c) != 1) X509_free(c);
      if (server) SSL_CTX_add_client_CA(ctx, c);
    }
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  return ok;
}

// A client verifies after the handshake (SSL_get_verify_result), so that the failure carries
// Node's code and rejectUnauthorized: false can go on; a server asks for a client certificate.
int accept_and_record(int, X509_STORE_CTX*) { return 1; }

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const auto* self = static_cast<const TlsContext*>(arg);
  const std::string& ours = self->alpn_wire();
  unsigned char* chosen = nullptr;
  unsigned char chosen_len = 0;
  // Server preference: the first of ours the client offers (RFC 7301 §3.2). No overlap: go on
  // without ALPN (HTTP/1.1), as Node does.
  if (SSL_select_next_proto(&chosen, &chosen_len, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    // QUIC has no fallback protocol: no_application_protocol (RFC 9001 §8.1).
    return self->quic() ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  *outlen = chosen_len;
  return SSL_TLSEXT_ERR_OK;
}

// SNI (RFC 6066 §3): switch to the context configured for the name the client asked for.
int select_context(SSL* ssl, int*, void*) {
  const auto* contexts = static_cast<const TlsServerContexts*>(SSL_get_app_data(ssl));
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (contexts == nullptr || name == nullptr) return SSL_TLSEXT_ERR_OK;
  const TlsContext* found = contexts->find(name);
  if (found != nullptr && found->ctx() != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, found->ctx());
  return SSL_TLSEXT_ERR_OK;
}

// The same for a QUIC connection, whose SSL app data is a QuicTlsAppData.
int select_quic_context(SSL* ssl, int*, void*) {
  const auto* data = static_cast<const QuicTlsAppData*>(SSL_get_app_data(ssl));
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (data == nullptr || data->contexts == nullptr || name == nullptr) return SSL_TLSEXT_ERR_OK;
  const TlsContext* found = data->contexts->find(name);
  if (found != nullptr && found->ctx() != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, found->ctx());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

LinkFailure openssl_failure(const char* what) {
  const unsigned long e = ERR_peek_last_error();
  LinkFailure f;
  if (e == 0) {
    f.code = "ERR_SSL_FAILED";
    f.message = std::string(what);
    return f;
  }
  const char* lib = ERR_lib_error_string(e);
  const char* reason = ERR_reason_error_string(e);
  // Node's form: ERR_OSSL_<LIB>_<REASON> for context errors, ERR_SSL_<REASON> for the TLS layer.
  std::string code = ERR_GET_LIB(e) == ERR_LIB_SSL ? "ERR_SSL_" : std::string("ERR_OSSL_");
  if (ERR_GET_LIB(e) != ERR_LIB_SSL && lib != nullptr) {
    // "PEM routines" → PEM, "digital envelope routines" → EVP-style names as Node prints them.
    std::string name(lib);
    if (name.size() > 9 && name.compare(name.size() - 9, 9, " routines") == 0) name.resize(name.size() - 9);
    if (name == "digital envelope") name = "EVP";
    for (char ch : name) code += ch == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    code += '_';
  }
  if (reason != nullptr) {
    for (const char* p = reason; *p; p++) code += *p == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  } else {
    code += "UNKNOWN";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  f.code = std::move(code);
  f.message = std::string(what) + ": " + buf;
  ERR_clear_error();
  return f;
}

std::string verify_error_code(long result) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: return "UNABLE_TO_GET_ISSUER_CERT";
    case X509_V_ERR_UNABLE_TO_GET_CRL: return "UNABLE_TO_GET_CRL";
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: return "UNABLE_TO_DECRYPT_CERT_SIGNATURE";
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: return "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "CERT_SIGNATURE_FAILURE";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "CERT_NOT_YET_VALID";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "CERT_HAS_EXPIRED";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: return "ERROR_IN_CERT_NOT_BEFORE_FIELD";
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return "ERROR_IN_CERT_NOT_AFTER_FIELD";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "DEPTH_ZERO_SELF_SIGNED_CERT";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "SELF_SIGNED_CERT_IN_CHAIN";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return "UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return "CERT_CHAIN_TOO_LONG";
    case X509_V_ERR_CERT_REVOKED: return "CERT_REVOKED";
    case X509_V_ERR_INVALID_CA: return "INVALID_CA";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return "PATH_LENGTH_EXCEEDED";
    case X509_V_ERR_INVALID_PURPOSE: return "INVALID_PURPOSE";
    case X509_V_ERR_CERT_UNTRUSTED: return "CERT_UNTRUSTED";
    case X509_V_ERR_CERT_REJECTED: return "CERT_REJECTED";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "ERR_TLS_CERT_ALTNAME_INVALID";
    default: return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
  }
}

std::shared_ptr<TlsContext> TlsContext::create(const TlsOptions& o, LinkFailure* error) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> self(new TlsContext());
  self->server_ = o.server;
  self->reject_unauthorized_ = o.reject_unauthorized;
  self->quic_ = o.quic;
  auto fail = [&](const char* what) {
    *error = openssl_failure(what);
    return nullptr;
  };
  self->ctx_ = SSL_CTX_new(o.server ? TLS_server_method() : TLS_client_method());
  if (self->ctx_ == nullptr) return fail("cannot create a TLS context");
  SSL_CTX* ctx = self->ctx_;
  self->bio_method_ = new_link_bio_method();
  if (self->bio_method_ == nullptr) return fail("cannot create a BIO method");
  const int min_v = version_of(o.min_version), max_v = version_of(o.max_version);
  if (min_v < 0 || max_v < 0 || min_v > max_v) {
    *error = {"ERR_TLS_INVALID_PROTOCOL_VERSION", "minVersion/maxVersion must be TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, min ≤ max"};
    return nullptr;
  }
  // RFC 9001 §4.2: QUIC needs TLS 1.3.
  SSL_CTX_set_min_proto_version(ctx, o.quic ? TLS1_3_VERSION : min_v);
  SSL_CTX_set_max_proto_version(ctx, o.quic ? TLS1_3_VERSION : max_v);
  // Idle connections give their record buffers back; renegotiation (TLS 1.2) is refused: it lets
  // a peer make us redo the handshake's expensive half at will.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (!o.ciphers.empty() && !set_ciphers(ctx, o.ciphers)) return fail("invalid ciphers");
  SSL_CTX_set_default_passwd_cb(ctx, passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&o.passphrase));
  for (const auto& pfx : o.pfx) {
    if (!use_pfx(ctx, pfx, o.passphrase, o.server)) return fail("cannot load the pfx");
  }
  for (const auto& cert : o.certs) {
    if (!use_cert_chain(ctx, cert)) return fail("cannot load the certificate");
  }
  for (const auto& key : o.keys) {
    BioPtr bio = mem_bio(key);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, const_cast<std::string*>(&o.passphrase));
    if (pkey == nullptr) return fail("cannot load the private key");
    const bool ok = SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) return fail("the private key does not match the certificate");
  }
  SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);  // `o` does not outlive this call
  if ((!o.keys.empty() || !o.pfx.empty()) && SSL_CTX_check_private_key(ctx) != 1) {
    return fail("the private key does not match the certificate");
  }
  for (const auto& ca : o.ca) {
    if (!add_trusted(ctx, ca, o.server)) return fail("cannot load a CA certificate");
  }
  for (const auto& p : o.alpn) {
    if (p.empty() || p.size() > 255) {
      *error = {"ERR_TLS_INVALID_ALPN", "an ALPN protocol name must be 1 to 255 bytes"};
      return nullptr;
    }
    self->alpn_wire_ += static_cast<char>(p.size());
    self->alpn_wire_ += p;
  }
  if (o.server) {
    if (o.certs.empty() && o.pfx.empty()) {
      *error = {"ERR_TLS_MISSING_CERT", "a TLS server needs cert and key (or pfx)"};
      return nullptr;
    }
    SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
    if (o.request_cert) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o.reject_unauthorized ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                         o.reject_unauthorized ? nullptr : accept_and_record);
    }
    if (!self->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, self.get());
    if (o.quic) SSL_CTX_set_tlsext_servername_callback(ctx, select_quic_context);
    else SSL_CTX_set_tlsext_servername_callback(ctx, select_context);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_and_record);
    if (!self->alpn_wire_.empty() &&
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
                                static_cast<unsigned int>(self->alpn_wire_.size())) != 0) {
      return fail("cannot set ALPN");
    }
  }
  return self;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (bio_method_ != nullptr) BIO_meth_free(bio_method_);
}

TlsServerContexts::TlsServerContexts(std::shared_ptr<TlsContext> fallback,
                                     std::vector<std::pair<std::string, std::shared_ptr<TlsContext>>> by_name)
    : fallback_(std::move(fallback)), by_name_(std::move(by_name)) {}

namespace {
bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

const TlsContext* TlsServerContexts::find(std::string_view name) const {
  for (const auto& [pattern, ctx] : by_name_) {
    if (iequal(pattern, name)) return ctx.get();
  }
  // "*.example.com" matches one label in front of example.com.
  const size_t dot = name.find('.');
  if (dot != std::string_view::npos) {
    for (const auto& [pattern, ctx] : by_name_) {
      if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.' && iequal(pattern.substr(1), name.substr(dot))) {
        return ctx.get();
      }
    }
  }
  return fallback_.get();
}

}  // namespace sockudo::transport
