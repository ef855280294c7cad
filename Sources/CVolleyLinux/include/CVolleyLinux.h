// Thin wrappers over Linux system interfaces that Swift cannot import directly
// (the packed epoll_event, macros) or that are clearer as one call.
#ifndef VOLLEY_C_LINUX_H
#define VOLLEY_C_LINUX_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <signal.h>
#include <pthread.h>

/// An epoll event with natural alignment (the kernel's struct is packed on x86-64).
typedef struct {
    uint32_t events;
    uint64_t data;
} volley_epoll_event;

extern const uint32_t VOLLEY_EPOLLIN;
extern const uint32_t VOLLEY_EPOLLOUT;
extern const uint32_t VOLLEY_EPOLLERR;
extern const uint32_t VOLLEY_EPOLLHUP;

int volley_epoll_create(void);
int volley_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int volley_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data);
int volley_epoll_remove(int epfd, int fd);
/// Waits up to timeout_ns nanoseconds (negative: forever) with epoll_pwait2's nanosecond timeout.
int volley_epoll_wait(int epfd, volley_epoll_event *events, int max_events, int64_t timeout_ns);

int volley_eventfd(void);
int volley_eventfd_signal(int fd);
int volley_eventfd_drain(int fd);

/// A signalfd for the given signals, which are blocked for the calling thread (and threads it creates).
int volley_signalfd(const int *signals, int count);
/// Reads one pending signal number from a signalfd (0 if none).
int volley_signalfd_read(int fd);
void volley_ignore_sigpipe(void);

int volley_socket_tcp(int family);
int volley_set_nonblocking(int fd);
int volley_set_nodelay(int fd, int on);
int volley_set_reuseaddr(int fd, int on);
int volley_set_reuseport(int fd, int on);
int volley_set_linger_reset(int fd);
int volley_set_bind_address_no_port(int fd);
int volley_socket_error(int fd);
int volley_accept(int fd, struct sockaddr_storage *address, socklen_t *length);

/// CLOCK_MONOTONIC in nanoseconds.
int64_t volley_monotonic_ns(void);
/// CLOCK_REALTIME in nanoseconds since the Unix epoch.
int64_t volley_realtime_ns(void);

int volley_cpu_count(void);
int volley_pin_current_thread(int cpu);
/// The soft RLIMIT_NOFILE, after raising it to the hard limit.
long volley_raise_fd_limit(void);
/// Resident set size of this process in bytes (from /proc/self/statm).
long volley_resident_bytes(void);
/// Total physical memory in bytes.
long long volley_physical_memory(void);
/// CPU time (user + system) of this process in nanoseconds.
int64_t volley_process_cpu_ns(void);
/// Sets this thread's timer slack (how late the kernel may wake it) in nanoseconds.
int volley_set_timer_slack_ns(unsigned long ns);
/// The kernel thread id of the calling thread.
int volley_thread_id(void);
/// Names a thread (at most 15 characters show in ps/top).
int volley_set_thread_name(pthread_t thread, const char *name);

/// Spawns `path` with `argv` (NULL-terminated); `inherit_fd` (if >= 0) becomes descriptor
/// `as_fd` in the child. Returns the child's pid, or -1 with errno set.
int volley_spawn(const char *path, char *const argv[], int inherit_fd, int as_fd);
/// Like volley_spawn, with the child's standard output sent to /dev/null when `quiet_stdout`.
int volley_spawn_quiet(const char *path, char *const argv[], int quiet_stdout);
/// A connected pair of non-blocking, close-on-exec UNIX stream sockets.
int volley_socketpair(int fds[2]);
/// A close-on-exec pipe (a child sees an end only where it is duplicated for it).
int volley_pipe_cloexec(int fds[2]);
/// Waits for any child without blocking: its pid (0 if none exited), *status gets the exit code or 128+signal.
int volley_reap_child(int *status);
/// Sends `signal` to `pid`.
int volley_kill(int pid, int signal);

/// Creates a directory and its parents (like mkdir -p); 0 on success.
int volley_mkdirs(const char *path);
/// Fills `buffer` with `length` random bytes from the kernel; 0 on success.
int volley_random_bytes(void *buffer, size_t length);

// MARK: TLS (OpenSSL 3), over opaque pointers: contexts are SSL_CTX, connections SSL, sessions SSL_SESSION.

/// The OpenSSL version string ("OpenSSL 3.0.19 27 Jan 2026").
const char *volley_openssl_version(void);
/// A client context: verify against `ca_pem` (NULL: the system's roots) when `verify_peer`;
/// an optional client certificate and key (PEM text); minimum version 12 or 13; with
/// `keep_sessions`, each connection keeps the newest session the server issued (to resume).
void *volley_tls_client_context(const char *ca_pem, int verify_peer, const char *cert_pem, const char *key_pem,
                                int min_version, int keep_sessions, char *error, int error_len);
/// A server context from a certificate (chain) and key in PEM text.
void *volley_tls_server_context(const char *cert_pem, const char *key_pem, char *error, int error_len);
/// A TLS 1.3 context authenticated by an external pre-shared key derived from `token` (HKDF-SHA256).
void *volley_tls_psk_context(int server, const unsigned char *token, int token_len, char *error, int error_len);
void volley_tls_context_free(void *context);
/// A connection on `fd`; clients send `name` as SNI and, with `verify_name`, check the certificate
/// against it; `session` (nullable) is offered for resumption.
void *volley_tls_new(void *context, int fd, int server, const char *name, int verify_name, void *session);
/// One handshake step: 1 done, 0 wants to read, 2 wants to write, -1 failed.
int volley_tls_handshake(void *ssl);
/// Decrypted bytes read (> 0, as many records as fit), 0 or -2 would block (wants to read / write),
/// -1 end of stream, -3 TLS protocol error, -1000 - errno a socket error.
int volley_tls_read_available(void *ssl, void *buffer, int capacity);
/// True when OpenSSL holds input not yet returned (read again before waiting).
int volley_tls_has_pending(void *ssl);
/// Bytes written (> 0), 0 would block, -3 TLS error, -1000 - errno a socket error.
int volley_tls_write(void *ssl, const void *buffer, int length);
/// Frees idle record buffers (a TLS 1.3 ticket leaves a 16 KiB write buffer behind).
void volley_tls_release_buffers(void *ssl);
int volley_tls_session_reused(void *ssl);
/// The newest session the server sent for resumption (the caller owns it), or NULL.
void *volley_tls_take_session(void *ssl);
void volley_tls_session_free(void *session);
/// Sends close_notify (the connection ends cleanly; the socket stays open).
void volley_tls_shutdown(void *ssl);
/// Frees a connection, sending close_notify first when asked.
void volley_tls_free(void *ssl, int send_close_notify);
/// Why a handshake failed: 1 certificate verification, 2 protocol, 3 closed by the peer; `reason` gets the text.
int volley_tls_failure(void *ssl, char *reason, int reason_len);
/// "TLSv1.3 TLS_AES_256_GCM_SHA384".
void volley_tls_describe(void *ssl, char *out, int len);
/// Writes a self-signed P-256 certificate for `name` (and localhost, 127.0.0.1), valid from
/// `valid_from` to `valid_until` seconds from now, and its key; 0 on success.
int volley_tls_self_signed(const char *cert_path, const char *key_path, const char *name, long valid_from, long valid_until,
                           char *error, int error_len);

#endif
