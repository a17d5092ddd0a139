/*
 * The HTTP side of jobpool-httpd: request parsing, the route handlers and
 * response formatting, with no sockets, no event loop and no threads.
 *
 * http_parse() and http_format() run on the loop thread.  http_run() runs
 * the handlers; for the slow routes it blocks (fdatasync) or burns CPU
 * (compression), and it is safe to call from any thread at once, so the
 * server runs it on a pool worker or, with --inline, on the loop thread.
 */
#ifndef JOBPOOL_HTTPD_HTTP_H
#define JOBPOOL_HTTPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* The longest request head accepted; a longer one is answered with 431. */
#define HTTP_HEAD_MAX 8192
/* Room for any response this server sends, head and body. */
#define HTTP_RESPONSE_MAX 512
#define HTTP_BODY_MAX 256

enum http_route {
    ROUTE_NONE,     /* the request is answered with its status alone */
    ROUTE_FAST,     /* GET /fast: answered at once on the loop thread */
    ROUTE_STATS,    /* GET /stats: the server's counters, on the loop */
    ROUTE_APPEND,   /* GET /append?n=N: write a line, fdatasync: blocks */
    ROUTE_COMPRESS, /* GET /compress: compress 256 KiB: burns CPU */
};

struct http_request {
    enum http_route route;
    int status;           /* for ROUTE_NONE: 400, 404, 405, 431, 505 */
    bool keep_alive;      /* the client allows another request after this one */
    unsigned long long n; /* /append's n */
};

struct http_response {
    int status;
    size_t body_len;
    char body[HTTP_BODY_MAX];
};

/* What the handlers share: set up once by http_handlers_init(), then only
 * read, by any number of threads at once. */
struct http_handlers {
    int append_fd;         /* O_APPEND; one write() per line */
    unsigned delay_ms;     /* extra sleep per append, a slower disk */
    unsigned char *corpus; /* what /compress compresses */
    size_t corpus_len;
};

/* Opens (creating) DIR/jobpool-httpd.data for appending and generates the
 * corpus.  Returns 0 or an errno value; on failure nothing is left open. */
int http_handlers_init(struct http_handlers *h, const char *dir,
                       unsigned delay_ms);
void http_handlers_fini(struct http_handlers *h);

/* True for the routes whose handler blocks or burns CPU: the ones worth
 * handing to a worker. */
bool http_route_is_slow(enum http_route route);

/*
 * Parses the request head at the start of buf[0, len).  Returns 0 while the
 * head is incomplete, or the length of the head once it is complete, with
 * *req filled in.  A malformed head still returns a length (all of len) and
 * sets route = ROUTE_NONE, an error status and keep_alive = false: the
 * connection is answered, then closed.  A request with a body is refused
 * (400), so the head is the whole request.
 */
size_t http_parse(const char *buf, size_t len, struct http_request *req);

/* Runs the handler of any route but ROUTE_STATS (the server answers that
 * one, it has the counters) and fills *resp; ROUTE_NONE gets its error
 * status.  May block for the slow routes.  Safe to call from several
 * threads at once. */
void http_run(const struct http_handlers *h, const struct http_request *req,
              struct http_response *resp);

/* Sets *resp to status with a body made by printf-style fmt. */
void http_respond(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the whole response, status line, headers and body, into
 * out[HTTP_RESPONSE_MAX] and returns its length. */
size_t http_format(const struct http_response *resp, bool keep_alive,
                   char *out);

#endif /* JOBPOOL_HTTPD_HTTP_H */
