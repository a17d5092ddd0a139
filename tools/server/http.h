/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of jobpool-httpd: request parsing and response formatting,
 * with no sockets, no event loop and no threads.  The routes' handlers are
 * in handlers.h.  All of it runs on the loop thread, except that a response
 * may be filled in (http_respond()) by a handler on a pool worker.
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
/* The longest file name /append takes, and the one it writes without one:
 * DIR/NAME.data. */
#define HTTP_FILE_MAX 32
#define HTTP_FILE_DEFAULT "jobpool-httpd"

enum http_route {
    ROUTE_NONE,     /* the request is answered with its status alone */
    ROUTE_FAST,     /* GET /fast: answered at once on the loop thread */
    ROUTE_STATS,    /* GET /stats: the server's counters, on the loop */
    ROUTE_APPEND,   /* GET /append?n=N[&file=NAME]: write a line, fdatasync:
                       blocks */
    ROUTE_COMPRESS, /* GET /compress: compress 256 KiB: burns CPU */
};

struct http_request {
    enum http_route route;
    int status;           /* for ROUTE_NONE: 400, 404, 405, 431, 505 */
    bool keep_alive;      /* the client allows another request after this one */
    bool head;            /* HEAD: answered as GET, without the body */
    unsigned long long n; /* /append's n */
    /* /append's file: 1 to HTTP_FILE_MAX of [A-Za-z0-9_-], else 400;
     * HTTP_FILE_DEFAULT when the query names none. */
    char file[HTTP_FILE_MAX + 1];
};

struct http_response {
    int status;
    size_t body_len;
    char body[HTTP_BODY_MAX];
};

/*
 * Parses the request head at the start of buf[0, len); its lines may end
 * in CRLF or in a bare LF.  Returns 0 while the head is incomplete, or the
 * length of the head once it is complete, with *req filled in.  A
 * malformed head still returns a length (all of len) and sets route =
 * ROUTE_NONE, an error status and keep_alive = false: the connection is
 * answered, then closed.  A request with a body is refused (400), so the
 * head is the whole request.  A method other than GET and HEAD gets 405.
 */
size_t http_parse(const char *buf, size_t len, struct http_request *req);

/* Sets *resp to status with a body made by printf-style fmt. */
void http_respond(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The reason phrase of status: "OK", "Not Found"... */
const char *http_reason(int status);

/* Writes the whole response, status line, headers and body, into
 * out[HTTP_RESPONSE_MAX] and returns its length.  For head (the answer to
 * HEAD), the body is left out; Content-Length still gives its length.  A
 * 405 lists the methods allowed in an Allow header. */
size_t http_format(const struct http_response *resp, bool keep_alive, bool head,
                   char *out);

#endif /* JOBPOOL_HTTPD_HTTP_H */
