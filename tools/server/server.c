/* SPDX-License-Identifier: MIT */
/*
 * The event loop of jobpool-httpd and the server's lifecycle: setting up
 * the sockets, the completion queue and the pool; dispatching epoll events
 * to the listener, the connections and the completion queue; draining on
 * SIGTERM or SIGINT; tearing everything down.  Loop thread only.  See the
 * DESIGN comment in jobpool-httpd.c.
 */
#include "config.h"

#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define FLUSH_TIMEOUT_MS 10000

void warn_errno(const char *what, int err)
{
    char msg[ERRNO_TEXT_MAX];

    fprintf(stderr, "jobpool-httpd: %s: %s\n", what,
            errno_text(err, msg, sizeof msg));
}

/* The monotonic clock in milliseconds. */
static long long monotonic_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail */
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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
    srv->accept_paused = false;
    for (struct conn *c = srv->conns; c != NULL; c = c->next)
        if (c->state == CONN_READING)
            conn_close(srv, c);
    if (srv->pool != NULL && (rc = job_pool_shutdown(srv->pool)) != 0)
        warn_errno("job_pool_shutdown", rc);
    srv->now = monotonic_ms(); /* the shutdown may have taken a while */
    srv->flush_deadline = srv->now + FLUSH_TIMEOUT_MS;
}

/* Shortens *wait, in ms from now or -1 for forever, so that it ends by
 * deadline. */
static void wait_at_most(const struct server *srv, long long deadline,
                         long long *wait)
{
    long long ms = deadline > srv->now ? deadline - srv->now : 0;

    if (*wait < 0 || ms < *wait)
        *wait = ms;
}

/* How long epoll_wait() may sleep: forever, or until the flush deadline,
 * a paused listener's retry or the first idle connection's deadline,
 * whichever comes first. */
static int loop_timeout(const struct server *srv)
{
    long long wait = -1;

    if (srv->draining)
        wait_at_most(srv, srv->flush_deadline, &wait);
    if (srv->accept_paused)
        wait_at_most(srv, srv->accept_retry, &wait);
    if (srv->idle_first != NULL)
        wait_at_most(srv, srv->idle_first->idle_deadline, &wait);
    return (int)wait; /* at most a day: see IDLE_TIMEOUT_MAX_MS */
}

/* The event loop.  Returns 0 after a signal once every connection is
 * closed, or an errno value if epoll_wait() fails. */
int server_run(struct server *srv)
{
    struct epoll_event events[MAX_EVENTS];

    srv->now = monotonic_ms();
    while (!srv->draining || srv->open_conns > 0) {
        int timeout = loop_timeout(srv);
        int n;

        if (srv->draining && srv->now >= srv->flush_deadline)
            break; /* clients that stopped reading: give up on them */
        n = epoll_wait(srv->epfd, events, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            return errno;
        srv->now = monotonic_ms();
        if (srv->accept_paused && srv->now >= srv->accept_retry)
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
        idle_expire(srv);
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
int server_open(struct server *srv, const struct options *opt, unsigned *port)
{
    job_pool_options popts;
    sigset_t mask;
    int rc;

    memset(srv, 0, sizeof *srv);
    srv->listen_fd = srv->signal_fd = srv->epfd = -1;
    srv->idle_timeout_ms = opt->idle_timeout_ms;

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
        char msg[ERRNO_TEXT_MAX];

        fprintf(stderr, "jobpool-httpd: data file in %s: %s\n", opt->dir,
                errno_text(rc, msg, sizeof msg));
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
        rc = lanes_open(&srv->lanes, srv->pool, opt->compress_width);
        if (rc != 0) {
            warn_errno("job_lane_create", rc);
            goto fail_lanes;
        }
    }
    return 0;

fail_lanes:
    (void)job_pool_destroy(srv->pool); /* no job was submitted */
    srv->pool = NULL;
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

/* Frees everything.  The lanes and the pool go first: their jobs point
 * into the connections.  Each lane is destroyed once its jobs have run (at
 * once after a drain), and before the pool, as jobpool requires. */
void server_close(struct server *srv)
{
    struct conn *c, *next;
    int rc;

    lanes_close(&srv->lanes);
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
