// TLS through the system's OpenSSL 3: the few calls volley needs, as plain functions over
// opaque pointers (OpenSSL's macros and callbacks do not import into Swift). No cryptography
// of volley's own: every primitive here is OpenSSL's.
#define _GNU_SOURCE
#include "CVolleyLinux.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static int session_slot = -1;   // SSL ex_data: the newest session (ticket) the server sent
static int psk_slot = -1;       // SSL_CTX ex_data: the control channel's pre-shared key

static void free_psk(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    if (ptr) OPENSSL_clear_free(ptr, 32);
}

static void ensure_slots(void) {
    if (session_slot < 0) session_slot = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (psk_slot < 0) psk_slot = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_psk);
}

static void error_text(char *out, int len, const char *what) {
    if (!out || len <= 0) return;
    unsigned long e = ERR_peek_last_error();
    char reason[200] = "";
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    snprintf(out, (size_t)len, "%s%s%s", what, e ? ": " : "", reason);
    ERR_clear_error();
}

const char *volley_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

// MARK: Certificates and keys from PEM text

static int load_certificate_chain(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { X509_free(extra); ok = 0; }
    }
    ERR_clear_error();   // the end of the PEM text is reported as an error
    BIO_free(bio);
    return ok;
}

static int load_private_key(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

static int add_trusted(SSL_CTX *ctx, const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) return 0;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1) added++;
        X509_free(cert);
    }
    ERR_clear_error();
    BIO_free(bio);
    return added;
}

// The system's trusted roots: OpenSSL's compiled-in paths, and the usual bundle files of other
// distributions (a statically linked OpenSSL only knows the paths of the host it was built on).
static void add_system_roots(SSL_CTX *ctx) {
    SSL_CTX_set_default_verify_paths(ctx);
    static const char *bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem", NULL,
    };
    for (int i = 0; bundles[i]; i++) {
        if (access(bundles[i], R_OK) == 0 && SSL_CTX_load_verify_locations(ctx, bundles[i], NULL) == 1) break;
    }
    ERR_clear_error();
}

// MARK: Contexts

static int new_session(SSL *ssl, SSL_SESSION *session) {
    SSL_SESSION *old = SSL_get_ex_data(ssl, session_slot);
    if (old) SSL_SESSION_free(old);
    SSL_set_ex_data(ssl, session_slot, session);
    return 1;   // we keep the reference
}

static void common_modes(SSL_CTX *ctx) {
    // Idle connections hold no record buffers; writes may be partial and retried from another
    // address (the caller's output queue moves); one read() per record.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    // A peer that closes TCP without close_notify (many servers) ends the stream like a plain
    // socket would, instead of failing it.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

void *volley_tls_client_context(const char *ca_pem, int verify_peer, const char *cert_pem, const char *key_pem,
                                int min_version, int keep_sessions, char *error, int error_len) {
    ensure_slots();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { error_text(error, error_len, "cannot create a TLS context"); return NULL; }
    common_modes(ctx);
    SSL_CTX_set_min_proto_version(ctx, min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (keep_sessions) {
        // Sessions are kept by the caller (one per virtual user), from the tickets as they arrive.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session);
    } else {
        // Nothing will be resumed: tickets are read and dropped, as a client without a cache does.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (verify_peer) {
        if (ca_pem && *ca_pem) {
            if (add_trusted(ctx, ca_pem) == 0) {
                error_text(error, error_len, "the CA file holds no certificate");
                SSL_CTX_free(ctx);
                return NULL;
            }
        } else {
            add_system_roots(ctx);
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (cert_pem && *cert_pem) {
        if (!load_certificate_chain(ctx, cert_pem) || !key_pem || !load_private_key(ctx, key_pem)) {
            error_text(error, error_len, "cannot use the client certificate and key");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

void *volley_tls_server_context(const char *cert_pem, const char *key_pem, char *error, int error_len) {
    ensure_slots();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) { error_text(error, error_len, "cannot create a TLS context"); return NULL; }
    common_modes(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!load_certificate_chain(ctx, cert_pem)) {
        error_text(error, error_len, "cannot use the certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (!load_private_key(ctx, key_pem)) {
        error_text(error, error_len, "cannot use the private key (or it does not match the certificate)");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

// MARK: The control channel: TLS 1.3 with an external pre-shared key derived from the token

static const char psk_identity[] = "volley-control";
static const unsigned char tls13_aes128gcmsha256_id[] = { 0x13, 0x01 };

static SSL_SESSION *psk_session(SSL *ssl) {
    const unsigned char *psk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_slot);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls13_aes128gcmsha256_id);
    if (!psk || !cipher) return NULL;
    SSL_SESSION *session = SSL_SESSION_new();
    if (!session || SSL_SESSION_set1_master_key(session, psk, 32) != 1 || SSL_SESSION_set_cipher(session, cipher) != 1 ||
        SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(session);
        return NULL;
    }
    return session;
}

static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess) {
    (void)md;
    *sess = psk_session(ssl);
    if (!*sess) return 0;
    *id = (const unsigned char *)psk_identity;
    *idlen = sizeof psk_identity - 1;
    return 1;
}

static int find_psk(SSL *ssl, const unsigned char *identity, size_t identity_len, SSL_SESSION **sess) {
    *sess = NULL;
    if (identity_len != sizeof psk_identity - 1 || memcmp(identity, psk_identity, identity_len) != 0) return 1;
    *sess = psk_session(ssl);
    return *sess ? 1 : 0;
}

void *volley_tls_psk_context(int server, const unsigned char *token, int token_len, char *error, int error_len) {
    ensure_slots();
    unsigned char *psk = OPENSSL_malloc(32);
    // HKDF-SHA256 of the token: the token itself never leaves the process.
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    static const char salt[] = "volley control channel", info[] = "tls13 external psk v3";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(token_len > 0 ? token : (const unsigned char *)""), (size_t)token_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sizeof salt - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof info - 1),
        OSSL_PARAM_construct_end(),
    };
    int derived = psk && kctx && EVP_KDF_derive(kctx, psk, 32, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    SSL_CTX *ctx = derived ? SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) : NULL;
    if (!ctx) {
        error_text(error, error_len, derived ? "cannot create a TLS context" : "cannot derive the channel key");
        OPENSSL_free(psk);
        return NULL;
    }
    SSL_CTX_set_ex_data(ctx, psk_slot, psk);
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (server) {
        SSL_CTX_set_psk_find_session_callback(ctx, find_psk);
    } else {
        SSL_CTX_set_psk_use_session_callback(ctx, use_psk);
    }
    return ctx;
}

void volley_tls_context_free(void *ctx) { SSL_CTX_free(ctx); }

// MARK: Connections

void *volley_tls_new(void *ctx, int fd, int server, const char *name, int verify_name, void *session) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    if (SSL_set_fd(ssl, fd) != 1) { SSL_free(ssl); return NULL; }
    if (server) {
        SSL_set_accept_state(ssl);
        return ssl;
    }
    SSL_set_connect_state(ssl);
    if (name && *name) {
        unsigned char address[16];
        int is_ip = inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1;
        // SNI carries host names only (RFC 6066); the certificate is checked against the name.
        if (!is_ip) SSL_set_tlsext_host_name(ssl, name);
        if (verify_name) {
            X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
            if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, name); else SSL_set1_host(ssl, name);
        }
    }
    if (session) SSL_set_session(ssl, session);
    ERR_clear_error();
    return ssl;
}

int volley_tls_handshake(void *ssl) {
    int r = SSL_do_handshake(ssl);
    if (r == 1) return 1;
    switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ: return 0;
    case SSL_ERROR_WANT_WRITE: return 2;
    default: return -1;
    }
}

// Reads records until OpenSSL holds no more buffered input or the buffer has no room for
// another whole record: level-triggered epoll does not report what OpenSSL already read ahead.
int volley_tls_read_available(void *ssl, void *buffer, int capacity) {
    int total = 0;
    while (capacity - total > 0) {
        int n = SSL_read(ssl, (char *)buffer + total, capacity - total);
        if (n > 0) {
            total += n;
            if (!SSL_has_pending(ssl) || capacity - total < 16384) break;
            continue;
        }
        if (total > 0) { ERR_clear_error(); break; }
        switch (SSL_get_error(ssl, n)) {
        case SSL_ERROR_WANT_READ: return 0;
        case SSL_ERROR_WANT_WRITE: return -2;
        case SSL_ERROR_ZERO_RETURN: return -1;
        case SSL_ERROR_SYSCALL: return errno ? -1000 - errno : -1;
        default: ERR_clear_error(); return -3;
        }
    }
    return total;
}

int volley_tls_has_pending(void *ssl) { return SSL_has_pending(ssl); }

int volley_tls_write(void *ssl, const void *buffer, int length) {
    int n = SSL_write(ssl, buffer, length);
    if (n > 0) return n;
    switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return 0;
    case SSL_ERROR_SYSCALL: ERR_clear_error(); return errno ? -1000 - errno : -3;
    default: ERR_clear_error(); return -3;
    }
}

void volley_tls_release_buffers(void *ssl) { SSL_free_buffers(ssl); }

int volley_tls_session_reused(void *ssl) { return SSL_session_reused(ssl); }

void *volley_tls_take_session(void *ssl) {
    SSL_SESSION *session = SSL_get_ex_data(ssl, session_slot);
    if (session) SSL_set_ex_data(ssl, session_slot, NULL);
    return session;
}

void volley_tls_session_free(void *session) { SSL_SESSION_free(session); }

void volley_tls_shutdown(void *ssl) {
    SSL_shutdown(ssl);
    ERR_clear_error();
}

void volley_tls_free(void *ssl, int send_close_notify) {
    SSL_SESSION *session = SSL_get_ex_data(ssl, session_slot);
    if (session) SSL_SESSION_free(session);
    // A connection freed without being shut down marks its session not resumable.
    if (send_close_notify) SSL_shutdown(ssl);
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    ERR_clear_error();
}

int volley_tls_failure(void *ssl, char *reason, int reason_len) {
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK) {
        snprintf(reason, (size_t)reason_len, "%s", X509_verify_cert_error_string(verify));
        ERR_clear_error();
        return 1;
    }
    unsigned long e = ERR_peek_last_error();
    if (e == 0) {
        snprintf(reason, (size_t)reason_len, "the peer closed the connection during the TLS handshake");
        return 3;
    }
    const char *r = ERR_reason_error_string(e);
    snprintf(reason, (size_t)reason_len, "%s", r ? r : "TLS handshake failed");
    ERR_clear_error();
    return 2;
}

void volley_tls_describe(void *ssl, char *out, int len) {
    snprintf(out, (size_t)len, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

// MARK: A self-signed certificate (volley demo --tls, tests)

int volley_tls_self_signed(const char *cert_path, const char *key_path, const char *name, long valid_from, long valid_until,
                           char *error, int error_len) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    int ok = key && cert;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), valid_from);
        X509_gmtime_adj(X509_getm_notAfter(cert), valid_until);
        X509_set_pubkey(cert, key);
        X509_NAME *subject = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
        X509_set_issuer_name(cert, subject);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
        char san[300];
        snprintf(san, sizeof san, "DNS:%s,DNS:localhost,IP:127.0.0.1", name);
        const char *exts[][2] = { { "subjectAltName", san }, { "basicConstraints", "critical,CA:TRUE" },
                                  { "keyUsage", "critical,digitalSignature,keyCertSign" } };
        for (int i = 0; ok && i < 3; i++) {
            X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
            ok = ext && X509_add_ext(cert, ext, -1) == 1;
            X509_EXTENSION_free(ext);
        }
        ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
    }
    FILE *c = ok ? fopen(cert_path, "w") : NULL;
    ok = ok && c && PEM_write_X509(c, cert) == 1;
    if (c) fclose(c);
    FILE *k = ok ? fopen(key_path, "w") : NULL;
    ok = ok && k && PEM_write_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (k) fclose(k);
    if (!ok) error_text(error, error_len, "cannot make a self-signed certificate");
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}
