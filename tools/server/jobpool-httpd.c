/*
 * jobpool-httpd: an example HTTP/1.1 server whose event loop never blocks,
 * because it hands blocking work to a jobpool.  Copy the pattern, not the
 * HTTP parser.
 *
 * DESIGN
 *
 * One thread, the loop, owns every socket and every connection.  It waits
 * in epoll_wait() on four kinds of file descriptor:
 *
 *   listener   accept new connections (127.0.0.1 only)
 *   connection read a request; answer /fast and /stats at once; for the
 *              slow routes (/append: write + fdatasync, /compress: CPU)
 *              submit a job with job_submit_detached() and stop watching
 *              the socket until the job is back; write responses
 *   eventfd    jobs are back: take them all off the completion queue and
 *              send their responses
 *   signalfd   SIGTERM or SIGINT: drain and exit
 *
 * The way back from a worker to the loop is the completion queue, as in
 * nginx's thread pools and Redis's bio: a FIFO under a mutex plus an eventfd.
 *
 *       loop thread                                 worker (jobpool)
 *   read, parse, submit  ── job_submit_detached ──► http_run()   (blocks)
 *                                                   lock; push job; unlock
 *   epoll_wait wakes     ◄──── eventfd write ────── (only if it was empty)
 *   read eventfd, lock, take the whole list, unlock, send responses
 *
 * Ownership: a connection, its buffers and its struct job belong to the
 * loop, except that between the submit and the moment the loop takes the
 * job off the queue, the worker alone reads job->req and writes job->resp.
 * The submit makes the loop's writes visible to the worker; the queue's
 * mutex makes the worker's visible to the loop.  A connection whose client
 * goes away meanwhile is closed but not freed until its job is back.
 * At most one request per connection is in flight, so responses go out in
 * request order even when the client pipelines.
 *
 * Shutdown:  SERVING ──SIGTERM/SIGINT──► DRAINING ──no connections──► exit 0
 *   stop accepting; close idle connections; job_pool_shutdown() runs every
 *   job already accepted (it blocks the loop meanwhile, which is fine: there
 *   is nothing new to do); then send the finished responses with
 *   "Connection: close" and exit once every connection is closed, or after
 *   FLUSH_TIMEOUT_MS if a client stops reading.
 *
 * With --inline the same handlers run on the loop thread, which is what this
 * program exists to compare against (make bench-httpd).
 *
 * Left out on purpose: timeouts on idle connections, request bodies, TLS,
 * more than one loop thread, back-pressure beyond one job per connection.
 */
#include "config.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jobpool.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define FLUSH_TIMEOUT_MS 10000
#define ACCEPT_RETRY_MS 100

struct server;
struct conn;

/* One request handed to a worker; see the ownership rule above. */
struct job {
    struct job *next; /* completion queue link, guarded by its lock */
    struct server *srv;
    struct conn *conn;
    struct http_request req;   /* written by the loop before the submit */
    struct http_response resp; /* written by the worker */
};

enum conn_state {
    CONN_READING, /* waiting for (the rest of) a request: EPOLLIN */
    CONN_RUNNING, /* its job is with the pool: no events */
    CONN_WRITING, /* sending out[]: EPOLLOUT while the socket is full */
    CONN_CLOSED,  /* socket closed, to be freed after this batch */
};

/* A client connection.  Loop thread only. */
struct conn {
    int fd; /* -1 once closed */
    enum conn_state state;
    uint32_t events; /* what epoll watches for now */
    bool keep_alive; /* of the request being answered */
    size_t in_len;   /* bytes of in[] read and not yet parsed */
    size_t out_len, out_sent;
    struct job job;           /* the request in flight, if any */
    struct conn *prev, *next; /* every allocated connection */
    struct conn *next_dead;   /* closed, to be freed after this batch */
    char in[HTTP_HEAD_MAX];
    char out[HTTP_RESPONSE_MAX];
};

/* Finished jobs on their way back to the loop.  Workers push one at a
 * time; the loop takes the whole list at once. */
struct completions {
    pthread_mutex_t lock;
    struct job *head;  /* lock */
    struct job **tail; /* lock; &head when empty */
    int efd;           /* eventfd: readable while the loop has work */
};

struct options {
    unsigned port; /* 0: any free port */
    unsigned threads;
    bool inline_handlers;
    const char *dir;
    unsigned delay_ms;
};

struct server {
    int epfd, listen_fd, signal_fd;
    struct completions done;
    job_pool *pool; /* NULL with --inline */
    struct http_handlers handlers;
    struct conn *conns; /* every allocated connection */
    struct conn *dead;  /* closed during this batch */
    size_t open_conns;  /* connections whose socket is open */
    bool draining, accept_paused;
    struct timespec flush_deadline;
    /* counters */
    unsigned long long accepted, served, inline_runs, abandoned;
};

static void warn_errno(const char *what, int err)
{
    fprintf(stderr, "jobpool-httpd: %s: %s\n", what, strerror(err));
}

/* the completion queue */

static int completions_init(struct completions *cq)
{
    int rc = pthread_mutex_init(&cq->lock, NULL);

    if (rc != 0)
        return rc;
    cq->head = NULL;
    cq->tail = &cq->head;
    cq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cq->efd < 0) {
        rc = errno;
        (void)pthread_mutex_destroy(&cq->lock);
        return rc;
    }
    return 0;
}

static void completions_fini(struct completions *cq)
{
    (void)close(cq->efd);
    (void)pthread_mutex_destroy(&cq->lock);
}

/* Called by a worker: queues the finished job and wakes the loop.  Only the
 * push onto an empty queue writes the eventfd: a non-empty queue means the
 * loop has been woken and has not taken the list yet, and it reads the
 * eventfd before it takes the list, so no job is left behind.  The job
 * must not be touched after the unlock: the loop may already reuse it.
 * (Locking a default mutex that this thread does not hold cannot fail.) */
static void completions_push(struct completions *cq, struct job *job)
{
    uint64_t one = 1;
    bool was_empty;

    job->next = NULL;
    (void)pthread_mutex_lock(&cq->lock);
    was_empty = cq->head == NULL;
    *cq->tail = job;
    cq->tail = &job->next;
    (void)pthread_mutex_unlock(&cq->lock);
    /* Fails only if the counter would overflow, which the loop's reads
     * prevent. */
    if (was_empty && write(cq->efd, &one, sizeof one) != sizeof one)
        warn_errno("eventfd write", errno);
}

/* Called by the loop: takes every queued job, oldest first. */
static struct job *completions_take(struct completions *cq)
{
    uint64_t count;
    struct job *list;

    if (read(cq->efd, &count, sizeof count) < 0 && errno != EAGAIN)
        warn_errno("eventfd read", errno);
    (void)pthread_mutex_lock(&cq->lock);
    list = cq->head;
    cq->head = NULL;
    cq->tail = &cq->head;
    (void)pthread_mutex_unlock(&cq->lock);
    return list;
}

/* The job function: runs on a worker thread. */
static void job_main(void *ctx)
{
    struct job *job = ctx;

    http_run(&job->srv->handlers, &job->req, &job->resp);
    completions_push(&job->srv->done, job);
}

/* connections */

static void accept_pause(struct server *srv, bool pause);

/* Closes the socket.  The connection is freed after the current batch of
 * events, or, if its job is still with the pool, once the job is back. */
static void conn_close(struct server *srv, struct conn *c)
{
    if (c->fd >= 0) {
        if (close(c->fd) != 0)
            warn_errno("close", errno);
        c->fd = -1;
        srv->open_conns--;
        if (srv->accept_paused)
            accept_pause(srv, false);
    }
    if (c->state != CONN_RUNNING && c->state != CONN_CLOSED) {
        c->state = CONN_CLOSED;
        c->next_dead = srv->dead;
        srv->dead = c;
    }
}

/* Unlinks and frees a closed connection whose job, if any, is back. */
static void conn_free(struct server *srv, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    free(c);
}

/* Moves c to state and makes epoll watch what that state needs.  Returns
 * false, with the connection closed, if epoll refuses. */
static bool conn_set_state(struct server *srv, struct conn *c,
                           enum conn_state state)
{
    uint32_t events = state == CONN_READING   ? EPOLLIN
                      : state == CONN_WRITING ? EPOLLOUT
                                              : 0;
    struct epoll_event ev = {.events = events, .data.ptr = c};

    if (events != c->events &&
        epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        warn_errno("epoll_ctl", errno);
        conn_close(srv, c);
        return false;
    }
    c->events = events;
    c->state = state;
    return true;
}

/* Closes a connection after its last response.  Request bytes left unread
 * in the socket would make close() send a reset, which can destroy the
 * response before the client has read it, so up to 64 KiB of them are read
 * and dropped first: a much simplified lingering close. */
static void conn_finish(struct server *srv, struct conn *c)
{
    char sink[4096];

    for (int i = 0; i < 16; i++)
        if (recv(c->fd, sink, sizeof sink, 0) <= 0)
            break;
    conn_close(srv, c);
}

/* Sends what is left of out[].  Returns true once the whole response is
 * sent and the connection can take its next request; false if it waits for
 * EPOLLOUT or was closed. */
static bool conn_flush(struct server *srv, struct conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                         MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_set_state(srv, c, CONN_WRITING);
            return false;
        }
        if (n < 0) {
            conn_close(srv, c); /* the client went away */
            return false;
        }
        c->out_sent += (size_t)n;
    }
    srv->served++;
    if (!c->keep_alive || srv->draining) {
        conn_finish(srv, c);
        return false;
    }
    c->state = CONN_READING;
    return true;
}

/* Starts sending the response in c->job.resp. */
static bool conn_respond(struct server *srv, struct conn *c)
{
    if (srv->draining)
        c->keep_alive = false;
    c->out_len = http_format(&c->job.resp, c->keep_alive, c->out);
    c->out_sent = 0;
    c->state = CONN_WRITING;
    return conn_flush(srv, c);
}

static void stats_respond(struct server *srv, struct http_response *resp)
{
    job_pool_stats st = {0};

    if (srv->pool != NULL)
        (void)job_pool_get_stats(srv->pool, &st); /* fails only on NULL */
    http_respond(resp, 200,
                 "mode=%s accepted=%llu open=%zu served=%llu "
                 "submitted=%llu completed=%llu queued=%zu running=%zu "
                 "inline=%llu\n",
                 srv->pool != NULL ? "offload" : "inline", srv->accepted,
                 srv->open_conns, srv->served, (unsigned long long)st.submitted,
                 (unsigned long long)st.completed, st.queued, st.running,
                 srv->inline_runs);
}

/* Answers the requests buffered in c->in, in order, until one is
 * incomplete (then waits for more bytes), goes to the pool, or has a
 * response that cannot be sent at once. */
static void conn_serve(struct server *srv, struct conn *c)
{
    for (;;) {
        struct http_request req;
        size_t used = http_parse(c->in, c->in_len, &req);
        int rc;

        if (used == 0) {
            conn_set_state(srv, c, CONN_READING);
            return;
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        c->keep_alive = req.keep_alive;

        if (req.route == ROUTE_STATS) {
            stats_respond(srv, &c->job.resp);
        } else if (http_route_is_slow(req.route) && srv->pool != NULL) {
            c->job.req = req;
            if (!conn_set_state(srv, c, CONN_RUNNING))
                return;
            rc = job_submit_detached(srv->pool, job_main, &c->job);
            if (rc == 0)
                return; /* job_main() owns req and resp until it is back */
            http_respond(&c->job.resp, 503, "job_submit_detached: %s\n",
                         strerror(rc));
            c->keep_alive = false;
        } else {
            if (http_route_is_slow(req.route))
                srv->inline_runs++;
            http_run(&srv->handlers, &req, &c->job.resp);
        }
        if (!conn_respond(srv, c))
            return;
    }
}

/* EPOLLIN: one read per readiness (epoll is level-triggered), then serve. */
static void conn_readable(struct server *srv, struct conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(srv, c); /* closed by the client, or reset */
        return;
    }
    c->in_len += (size_t)n;
    conn_serve(srv, c);
}

static void conn_event(struct server *srv, struct conn *c, uint32_t events)
{
    if (c->fd < 0)
        return; /* closed earlier in this batch */
    if (events & (EPOLLERR | EPOLLHUP))
        conn_close(srv, c);
    else if (c->state == CONN_READING && (events & EPOLLIN))
        conn_readable(srv, c);
    else if (c->state == CONN_WRITING && (events & EPOLLOUT) &&
             conn_flush(srv, c))
        conn_serve(srv, c);
}

/* eventfd: every finished job gets its response sent. */
static void jobs_done(struct server *srv)
{
    struct job *job = completions_take(&srv->done);

    while (job != NULL) {
        struct job *next = job->next; /* job is reused by conn_serve() */
        struct conn *c = job->conn;

        if (c->fd < 0) {
            c->state = CONN_CLOSED; /* the client left while it ran */
            c->next_dead = srv->dead;
            srv->dead = c;
        } else if (conn_respond(srv, c)) {
            conn_serve(srv, c);
        }
        job = next;
    }
}

/* listener */

static void accept_pause(struct server *srv, bool pause)
{
    struct epoll_event ev = {.events = pause ? 0 : EPOLLIN,
                             .data.ptr = &srv->listen_fd};

    if (srv->listen_fd < 0)
        return;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) != 0)
        warn_errno("epoll_ctl listener", errno);
    else
        srv->accept_paused = pause;
}

static void accept_all(struct server *srv)
{
    while (srv->listen_fd >= 0) { /* closed earlier in this batch? */
        int fd =
            accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN};
        struct conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connections
             * stay queued; retry after one closes or ACCEPT_RETRY_MS,
             * rather than spin on a listener that stays readable. */
            warn_errno("accept", errno);
            accept_pause(srv, true);
            return;
        }
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            warn_errno("accept", ENOMEM);
            (void)close(fd);
            continue;
        }
        c->fd = fd;
        c->state = CONN_READING;
        c->events = EPOLLIN;
        c->job.srv = srv;
        c->job.conn = c;
        ev.data.ptr = c;
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            warn_errno("epoll_ctl", errno);
            (void)close(fd);
            free(c);
            continue;
        }
        c->next = srv->conns;
        if (srv->conns != NULL)
            srv->conns->prev = c;
        srv->conns = c;
        srv->open_conns++;
        srv->accepted++;
    }
}

/* shutdown */

/* SIGTERM or SIGINT: stop accepting, close the idle connections, run every
 * accepted job, and let the loop send what they produced. */
static void server_drain(struct server *srv)
{
    struct signalfd_siginfo si;
    int rc;

    if (read(srv->signal_fd, &si, sizeof si) != sizeof si || srv->draining)
        return;
    srv->draining = true;
    if (close(srv->listen_fd) != 0)
        warn_errno("close listener", errno);
    srv->listen_fd = -1;
    for (struct conn *c = srv->conns; c != NULL; c = c->next)
        if (c->state == CONN_READING)
            conn_close(srv, c);
    if (srv->pool != NULL && (rc = job_pool_shutdown(srv->pool)) != 0)
        warn_errno("job_pool_shutdown", rc);
    clock_gettime(CLOCK_MONOTONIC, &srv->flush_deadline);
    srv->flush_deadline.tv_sec += FLUSH_TIMEOUT_MS / 1000;
}

/* How long epoll_wait() may sleep: forever, or until a paused listener is
 * retried, or until the flush deadline. */
static int loop_timeout(const struct server *srv)
{
    struct timespec now;
    long long ms;

    if (!srv->draining)
        return srv->accept_paused ? ACCEPT_RETRY_MS : -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (srv->flush_deadline.tv_sec - now.tv_sec) * 1000LL +
         (srv->flush_deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? (int)ms : 0;
}

/* The event loop.  Returns 0 after a signal once every connection is
 * closed, or an errno value if epoll_wait() fails. */
static int server_run(struct server *srv)
{
    struct epoll_event events[MAX_EVENTS];

    while (!srv->draining || srv->open_conns > 0) {
        int timeout = loop_timeout(srv);
        int n;

        if (srv->draining && timeout == 0)
            break; /* clients that stopped reading: give up on them */
        n = epoll_wait(srv->epfd, events, MAX_EVENTS, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0 && srv->accept_paused)
            accept_pause(srv, false);
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;

            if (p == &srv->listen_fd)
                accept_all(srv);
            else if (p == &srv->signal_fd)
                server_drain(srv);
            else if (p == &srv->done)
                jobs_done(srv);
            else
                conn_event(srv, p, events[i].events);
        }
        while (srv->dead != NULL) {
            struct conn *c = srv->dead;

            srv->dead = c->next_dead;
            conn_free(srv, c);
        }
    }
    srv->abandoned = srv->open_conns;
    return 0;
}

/* setup and teardown */

static int listen_loopback(unsigned port, unsigned *bound)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        int err = errno;

        (void)close(fd);
        return -err;
    }
    *bound = ntohs(addr.sin_port);
    return fd;
}

static int epoll_watch(int epfd, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

/* Sets up everything, in this order, and unwinds it on failure.  Prints
 * what failed; returns 0 or an errno value. */
static int server_open(struct server *srv, const struct options *opt,
                       unsigned *port)
{
    job_pool_options popts;
    sigset_t mask;
    int rc;

    memset(srv, 0, sizeof *srv);
    srv->listen_fd = srv->signal_fd = srv->epfd = -1;

    /* Signals arrive through signalfd only.  The pool's workers block all
     * signals themselves, so none of them can take SIGTERM either. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if ((rc = pthread_sigmask(SIG_BLOCK, &mask, NULL)) != 0) {
        warn_errno("pthread_sigmask", rc);
        return rc;
    }
    srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv->signal_fd < 0) {
        rc = errno;
        warn_errno("signalfd", rc);
        return rc;
    }
    if ((rc = completions_init(&srv->done)) != 0) {
        warn_errno("completion queue", rc);
        goto fail_completions;
    }
    if ((rc = http_handlers_init(&srv->handlers, opt->dir, opt->delay_ms))) {
        fprintf(stderr, "jobpool-httpd: data file in %s: %s\n", opt->dir,
                strerror(rc));
        goto fail_handlers;
    }
    srv->listen_fd = listen_loopback(opt->port, port);
    if (srv->listen_fd < 0) {
        rc = -srv->listen_fd;
        warn_errno("listen on 127.0.0.1", rc);
        goto fail_listen;
    }
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv->epfd < 0) {
        rc = errno;
        warn_errno("epoll_create1", rc);
        goto fail_epoll;
    }
    if ((rc = epoll_watch(srv->epfd, srv->listen_fd, &srv->listen_fd)) ||
        (rc = epoll_watch(srv->epfd, srv->signal_fd, &srv->signal_fd)) ||
        (rc = epoll_watch(srv->epfd, srv->done.efd, &srv->done))) {
        warn_errno("epoll_ctl", rc);
        goto fail_watch;
    }
    if (!opt->inline_handlers) {
        job_pool_options_init(&popts);
        popts.threads = opt->threads;
        popts.name = "httpd";
        if ((rc = job_pool_create(&srv->pool, &popts)) != 0) {
            warn_errno("job_pool_create", rc);
            goto fail_watch;
        }
    }
    return 0;

fail_watch:
    (void)close(srv->epfd);
fail_epoll:
    (void)close(srv->listen_fd);
fail_listen:
    http_handlers_fini(&srv->handlers);
fail_handlers:
    completions_fini(&srv->done);
fail_completions:
    (void)close(srv->signal_fd);
    return rc;
}

/* Frees everything.  The pool goes first: its jobs point into the
 * connections. */
static void server_close(struct server *srv)
{
    struct conn *c, *next;
    int rc;

    if ((rc = job_pool_destroy(srv->pool)) != 0)
        warn_errno("job_pool_destroy", rc);
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        if (c->fd >= 0)
            (void)close(c->fd);
        free(c);
    }
    srv->conns = NULL;
    if (srv->listen_fd >= 0)
        (void)close(srv->listen_fd);
    (void)close(srv->epfd);
    http_handlers_fini(&srv->handlers);
    completions_fini(&srv->done);
    (void)close(srv->signal_fd);
}

/* the command line */

static void usage(FILE *to)
{
    fprintf(to, "usage: jobpool-httpd [--port N] [--threads N] [--inline] "
                "[--dir DIR] [--delay-ms N]\n"
                "  --port N      TCP port on 127.0.0.1; 0 picks a free one "
                "(default 8080)\n"
                "  --threads N   worker threads; 0 = one per CPU (default 0)\n"
                "  --inline      run the slow handlers on the loop thread\n"
                "  --dir DIR     where /append writes jobpool-httpd.data "
                "(default .)\n"
                "  --delay-ms N  each /append also sleeps N ms, a slower "
                "disk (default 0)\n"
                "Routes: GET /fast, /append?n=N, /compress, /stats.  "
                "SIGTERM or SIGINT drains and exits.\n");
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"inline", no_argument, NULL, 'i'},
        {"dir", required_argument, NULL, 'd'},
        {"delay-ms", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, which = 0;

    *opt = (struct options){.port = 8080, .dir = "."};
    while ((ch = getopt_long(argc, argv, "", longopts, &which)) != -1) {
        bool ok = true;

        switch (ch) {
        case 'p':
            ok = parse_uint(optarg, 65535, &opt->port);
            break;
        case 't':
            ok = parse_uint(optarg, JOB_POOL_THREADS_MAX, &opt->threads);
            break;
        case 'i':
            opt->inline_handlers = true;
            break;
        case 'd':
            opt->dir = optarg;
            break;
        case 'D':
            ok = parse_uint(optarg, 60000, &opt->delay_ms);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "jobpool-httpd: bad value for --%s: %s\n",
                    longopts[which].name, optarg);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct options opt;
    struct server srv;
    job_pool_stats st = {0};
    unsigned port = 0;
    int rc;

    if ((rc = parse_options(argc, argv, &opt)) >= 0)
        return rc;
    if (server_open(&srv, &opt, &port) != 0)
        return 1;
    printf("listening on 127.0.0.1:%u\n", port);
    fflush(stdout);

    rc = server_run(&srv);
    if (rc != 0)
        warn_errno("epoll_wait", rc);
    if (srv.pool != NULL)
        (void)job_pool_get_stats(srv.pool, &st); /* fails only on NULL */
    printf("jobpool-httpd: served %llu requests on %llu connections; "
           "jobs run %llu of %llu submitted; %llu handlers ran inline; "
           "%llu connections abandoned\n",
           srv.served, srv.accepted, (unsigned long long)st.completed,
           (unsigned long long)st.submitted, srv.inline_runs, srv.abandoned);
    server_close(&srv);
    return rc == 0 ? 0 : 1;
}
