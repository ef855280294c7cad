#define _GNU_SOURCE
#include "CVolleyLinux.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

const uint32_t VOLLEY_EPOLLIN = EPOLLIN;
const uint32_t VOLLEY_EPOLLOUT = EPOLLOUT;
const uint32_t VOLLEY_EPOLLERR = EPOLLERR;
const uint32_t VOLLEY_EPOLLHUP = EPOLLHUP;

int volley_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int volley_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) { return ctl(epfd, EPOLL_CTL_ADD, fd, events, data); }
int volley_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data) { return ctl(epfd, EPOLL_CTL_MOD, fd, events, data); }
int volley_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int volley_epoll_wait(int epfd, volley_epoll_event *events, int max_events, int64_t timeout_ns) {
    struct epoll_event raw[1024];
    if (max_events > 1024) max_events = 1024;
    int n;
    if (timeout_ns < 0) {
        n = epoll_wait(epfd, raw, max_events, -1);
    } else if (timeout_ns == 0) {
        n = epoll_wait(epfd, raw, max_events, 0);
    } else if (timeout_ns >= 5000000) {
        // Far deadlines: plain epoll_wait in milliseconds, the cheapest wait. The kernel lets a
        // wait overshoot by 0.1% of its length (timer slack: 300 µs on a 300 ms wait), so wake
        // 0.2% + 1 ms early; the loop then waits the short remainder precisely.
        int64_t early = timeout_ns - timeout_ns / 500 - 1000000;
        n = epoll_wait(epfd, raw, max_events, (int)(early / 1000000));
    } else {
        struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
        n = epoll_pwait2(epfd, raw, max_events, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            n = epoll_wait(epfd, raw, max_events, (int)((timeout_ns + 999999) / 1000000));
        }
    }
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

int volley_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int volley_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int volley_eventfd_drain(int fd) {
    uint64_t value;
    return (int)read(fd, &value, sizeof value);
}

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int volley_signalfd(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int volley_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}

void volley_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int volley_socket_tcp(int family) {
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

int volley_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

int volley_set_nodelay(int fd, int on) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on); }
int volley_set_reuseaddr(int fd, int on) { return set_int(fd, SOL_SOCKET, SO_REUSEADDR, on); }
int volley_set_reuseport(int fd, int on) { return set_int(fd, SOL_SOCKET, SO_REUSEPORT, on); }
int volley_set_bind_address_no_port(int fd) { return set_int(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1); }

int volley_set_linger_reset(int fd) {
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

int volley_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

int volley_accept(int fd, struct sockaddr_storage *address, socklen_t *length) {
    *length = sizeof *address;
    return accept4(fd, (struct sockaddr *)address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int64_t volley_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t volley_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int volley_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int volley_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

long volley_raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

long volley_resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long size = 0, resident = 0;
    int ok = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return ok == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

long long volley_physical_memory(void) {
    return (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
}

int64_t volley_process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int volley_set_timer_slack_ns(unsigned long ns) { return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0); }

int volley_thread_id(void) { return (int)gettid(); }

int volley_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/// Spawns with `actions` (consumed) and an empty signal mask: the child starts with no blocked
/// signals, whatever the parent blocked for its signalfd.
static int spawn_with(const char *path, char *const argv[], posix_spawn_file_actions_t *actions) {
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, path, actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}

int volley_spawn(const char *path, char *const argv[], int inherit_fd, int as_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (inherit_fd >= 0) posix_spawn_file_actions_adddup2(&actions, inherit_fd, as_fd);
    return spawn_with(path, argv, &actions);
}

int volley_spawn_quiet(const char *path, char *const argv[], int quiet_stdout) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet_stdout) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    return spawn_with(path, argv, &actions);
}

int volley_socketpair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
}

int volley_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int volley_reap_child(int *status) {
    int raw = 0;
    pid_t pid = waitpid(-1, &raw, WNOHANG);
    if (pid <= 0) return pid < 0 ? -1 : 0;
    if (WIFEXITED(raw)) *status = WEXITSTATUS(raw);
    else if (WIFSIGNALED(raw)) *status = 128 + WTERMSIG(raw);
    else *status = -1;
    return pid;
}

int volley_kill(int pid, int signal) { return kill(pid, signal); }

#include <sys/random.h>
#include <sys/stat.h>

int volley_mkdirs(const char *path) {
    char buffer[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buffer) { errno = ENAMETOOLONG; return -1; }
    memcpy(buffer, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buffer[i] == '/' || buffer[i] == 0) {
            char saved = buffer[i];
            buffer[i] = 0;
            if (mkdir(buffer, 0755) != 0 && errno != EEXIST) return -1;
            buffer[i] = saved;
        }
    }
    return 0;
}

int volley_random_bytes(void *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = getrandom((char *)buffer + done, length - done, 0);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        done += (size_t)n;
    }
    return 0;
}

