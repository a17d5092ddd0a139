/* SPDX-License-Identifier: MIT */
/*
 * The connections of jobpool-httpd, and the listener that makes them: read
 * a request, answer it at once or hand it to the pool, send the response,
 * then wait for the next one.  Loop thread only, but for job_main(), which
 * runs on a worker.  See the DESIGN comment in jobpool-httpd.c.
 */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The job function: runs on a worker thread. */
static void job_main(void *ctx)
{
    struct job *job = ctx;

    http_run(&job->srv->handlers, &job->req, &job->resp);
    completions_push(&job->srv->done, job);
}

/* idle timeouts */

/* c now waits for a request: it is closed unless one is complete within
 * the idle timeout.  Called after accept() and after each response. */
static void idle_start(struct server *srv, struct conn *c)
{
    if (srv->idle_timeout_ms == 0 || c->idle_listed)
        return;
    c->idle_deadline = srv->now + srv->idle_timeout_ms;
    c->idle_listed = true;
    c->idle_next = NULL;
    c->idle_prev = srv->idle_last;
    if (srv->idle_last != NULL)
        srv->idle_last->idle_next = c;
    else
        srv->idle_first = c;
    srv->idle_last = c;
}

/* c has a whole request, or is closed: it is no longer idle. */
static void idle_stop(struct server *srv, struct conn *c)
{
    if (!c->idle_listed)
        return;
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        srv->idle_first = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    else
        srv->idle_last = c->idle_prev;
    c->idle_listed = false;
}

/* Closes the connections whose timeout has passed: the first ones on the
 * list.  No response is sent; the client sees the connection close, as
 * after a keep-alive timeout anywhere (RFC 9112, 9.8). */
void idle_expire(struct server *srv)
{
    while (srv->idle_first != NULL &&
           srv->idle_first->idle_deadline <= srv->now) {
        srv->timed_out++;
        conn_close(srv, srv->idle_first); /* unlinks it */
    }
}

/* connections */

/* Closes the socket.  The connection is freed after the current batch of
 * events, or, if its job is still with the pool, once the job is back. */
void conn_close(struct server *srv, struct conn *c)
{
    idle_stop(srv, c);
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
void conn_free(struct server *srv, struct conn *c)
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
    idle_start(srv, c);
    return true;
}

/* Starts sending the response in c->job.resp. */
static bool conn_respond(struct server *srv, struct conn *c)
{
    if (srv->draining)
        c->keep_alive = false;
    c->out_len = http_format(&c->job.resp, c->keep_alive, c->head, c->out);
    c->out_sent = 0;
    c->state = CONN_WRITING;
    return conn_flush(srv, c);
}

/* The server's counters.  submitted, completed, queued and running count
 * the requests handed to the lanes (the pool's own counters count the
 * lanes' passes through it, see jobpool.h); append_peak and compress_peak
 * are the most that ran at once in one /append lane and in the /compress
 * lane. */
static void stats_respond(struct server *srv, struct http_response *resp)
{
    struct lanes_counts lc;

    lanes_count(&srv->lanes, &lc);
    http_respond(resp, 200,
                 "mode=%s accepted=%llu open=%zu served=%llu "
                 "submitted=%llu completed=%llu queued=%zu running=%u "
                 "append_peak=%u compress_width=%u compress_peak=%u "
                 "inline=%llu timed_out=%llu accept_errors=%llu\n",
                 srv->pool != NULL ? "offload" : "inline", srv->accepted,
                 srv->open_conns, srv->served, (unsigned long long)lc.submitted,
                 (unsigned long long)lc.completed, lc.queued, lc.running,
                 lc.append_peak, srv->lanes.compress_width, lc.compress_peak,
                 srv->inline_runs, srv->timed_out, srv->accept_errors);
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
        idle_stop(srv, c);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        c->keep_alive = req.keep_alive;
        c->head = req.head;

        if (req.route == ROUTE_STATS) {
            stats_respond(srv, &c->job.resp);
        } else if (http_route_is_slow(req.route) && srv->pool != NULL) {
            char msg[ERRNO_TEXT_MAX];

            c->job.req = req;
            if (!conn_set_state(srv, c, CONN_RUNNING))
                return;
            /* Through the request's lane: see lanes.c for which
             * requests wait for which. */
            rc = job_submit_lane(lanes_for(&srv->lanes, &req), job_main,
                                 &c->job);
            if (rc == 0)
                return; /* job_main() owns req and resp until it is back */
            http_respond(&c->job.resp, 503, "job_submit_lane: %s\n",
                         errno_text(rc, msg, sizeof msg));
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

void conn_event(struct server *srv, struct conn *c, uint32_t events)
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
void jobs_done(struct server *srv)
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

void accept_pause(struct server *srv, bool pause)
{
    struct epoll_event ev = {.events = pause ? 0 : EPOLLIN,
                             .data.ptr = &srv->listen_fd};

    if (srv->listen_fd < 0)
        return;
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) != 0) {
        warn_errno("epoll_ctl listener", errno);
        return;
    }
    srv->accept_paused = pause;
    if (pause)
        srv->accept_retry = srv->now + ACCEPT_RETRY_MS;
}

/* accept() failed with err: EMFILE, ENFILE, ENOBUFS, ENOMEM.  The pending
 * connections stay queued; rather than spin on a listener that stays
 * readable, pause it and retry after one connection closes or after
 * ACCEPT_RETRY_MS.  Out of file descriptors, the retries fail for as long
 * as the connections stay open, and they fail again each time one closes
 * and the next one takes its place: one line a minute, with a count, says
 * so rather than one per retry. */
static void accept_failed(struct server *srv, int err)
{
    char what[96];

    accept_pause(srv, true);
    srv->accept_errors++;
    if (srv->now < srv->accept_log_next) {
        srv->accept_unlogged++;
        return;
    }
    if (srv->accept_unlogged == 0)
        (void)snprintf(what, sizeof what,
                       "accept (retrying every %d ms; logged at most once "
                       "a minute)",
                       ACCEPT_RETRY_MS);
    else
        (void)snprintf(what, sizeof what, "accept (%llu more failures)",
                       srv->accept_unlogged);
    srv->accept_unlogged = 0;
    srv->accept_log_next = srv->now + ACCEPT_LOG_INTERVAL_MS;
    warn_errno(what, err);
}

void accept_all(struct server *srv)
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
            accept_failed(srv, errno);
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
        idle_start(srv, c);
    }
}
