/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of jobpool-httpd: just enough HTTP/1.1 to serve GET
 * requests over keep-alive connections.  Nothing here knows about sockets,
 * the event loop, the pool or what the routes do (handlers.c); see
 * jobpool-httpd.c for how the parts meet.
 *
 * Parsing is deliberately minimal: GET and HEAD only, lines ending in CRLF
 * or a bare LF, one request line, headers scanned only for Connection,
 * Content-Length and Transfer-Encoding, no request bodies, no
 * percent-decoding.  Anything it does not understand is answered with an
 * error status and the connection is closed, which is always safe.
 */
#include "config.h"

#include "http.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* parsing */

/* Marks *req as an error answered with status, after which the connection
 * closes; consumes the whole buffer. */
static size_t parse_error(struct http_request *req, int status, size_t len)
{
    req->route = ROUTE_NONE;
    req->status = status;
    req->keep_alive = false;
    return len;
}

/* If the header line [line, end) is "name: value", returns where the value
 * starts (after any spaces), else NULL.  Names compare case-insensitively. */
static const char *header_value(const char *line, const char *end,
                                const char *name)
{
    size_t n = strlen(name);

    if ((size_t)(end - line) <= n || strncasecmp(line, name, n) != 0 ||
        line[n] != ':')
        return NULL;
    for (line += n + 1; line < end && (*line == ' ' || *line == '\t');)
        line++;
    return line;
}

/* Whether the comma-separated list [v, end) holds token, any case. */
static bool has_token(const char *v, const char *end, const char *token)
{
    size_t n = strlen(token);

    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *stop = comma != NULL ? comma : end;
        const char *last = stop;

        while (v < stop && (*v == ' ' || *v == '\t'))
            v++;
        while (last > v && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - v) == n && strncasecmp(v, token, n) == 0)
            return true;
        v = stop + 1;
    }
    return false;
}

/* Finds name=VALUE in the query [q, end): sets [*v, *v_end) to the first
 * such value, which may be empty, and returns true, or returns false. */
static bool query_param(const char *q, const char *end, const char *name,
                        const char **v, const char **v_end)
{
    size_t n = strlen(name);

    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp != NULL ? amp : end;

        if ((size_t)(stop - q) > n && memcmp(q, name, n) == 0 && q[n] == '=') {
            *v = q + n + 1;
            *v_end = stop;
            return true;
        }
        q = stop + 1;
    }
    return false;
}

/* Reads n=DIGITS from the query [q, end), fitting an unsigned long long. */
static bool query_n(const char *q, const char *end, unsigned long long *n)
{
    const char *p, *stop;
    unsigned long long v = 0;

    if (!query_param(q, end, "n", &p, &stop) || p == stop)
        return false;
    for (; p < stop; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (d > 9 || v > (ULLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *n = v;
    return true;
}

/* Reads file=NAME from the query [q, end) into file[HTTP_FILE_MAX + 1],
 * or HTTP_FILE_DEFAULT if there is none.  NAME is what the server puts
 * in a path, so it is held to letters, digits, '-' and '_': no '/', no
 * "..", nothing to percent-decode. */
static bool query_file(const char *q, const char *end, char *file)
{
    const char *p, *stop;
    size_t len;

    if (!query_param(q, end, "file", &p, &stop)) {
        memcpy(file, HTTP_FILE_DEFAULT, sizeof HTTP_FILE_DEFAULT);
        return true;
    }
    len = (size_t)(stop - p);
    if (len == 0 || len > HTTP_FILE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    memcpy(file, p, len);
    file[len] = '\0';
    return true;
}

/* Routes the request target [t, end): a path and an optional query. */
static void parse_target(const char *t, const char *end,
                         struct http_request *req)
{
    const char *q = memchr(t, '?', (size_t)(end - t));
    const char *path_end = q != NULL ? q : end;
    size_t path_len = (size_t)(path_end - t);
    static const struct {
        const char *path;
        enum http_route route;
    } routes[] = {
        {"/fast", ROUTE_FAST},
        {"/stats", ROUTE_STATS},
        {"/append", ROUTE_APPEND},
        {"/compress", ROUTE_COMPRESS},
    };

    req->route = ROUTE_NONE;
    req->status = 404;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strlen(routes[i].path) == path_len &&
            memcmp(routes[i].path, t, path_len) == 0) {
            req->route = routes[i].route;
            req->status = 200;
        }
    }
    if (req->route == ROUTE_APPEND &&
        (q == NULL || !query_n(q + 1, end, &req->n) ||
         !query_file(q + 1, end, req->file))) {
        req->route = ROUTE_NONE;
        req->status = 400;
    }
}

/* The length of the request head at the start of buf[0, len), up to and
 * including the empty line that ends it, or 0 if it is not all there yet.
 * Lines end in LF, with or without a CR before it: RFC 9112 (2.2) lets a
 * server take a bare LF as a line end, and clients typed by hand send
 * one. */
static size_t head_length(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len, *lf;

    while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (lf == p || (lf == p + 1 && *p == '\r'))
            return (size_t)(lf + 1 - buf);
        p = lf + 1;
    }
    return 0;
}

/* Returns where the line after the one at p starts, and sets *stop to the
 * end of the one at p, before its LF and any CR.  The line must end in LF
 * before end. */
static const char *next_line(const char *p, const char *end, const char **stop)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));

    *stop = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
    return lf + 1;
}

size_t http_parse(const char *buf, size_t len, struct http_request *req)
{
    size_t head_len =
        head_length(buf, len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX);
    const char *end = buf + head_len;
    const char *eol, *sp1, *sp2, *line;
    size_t method_len;

    *req = (struct http_request){.route = ROUTE_NONE, .status = 400};
    if (head_len == 0)
        return len >= HTTP_HEAD_MAX ? parse_error(req, 431, len) : 0;
    /* A CR anywhere but before an LF is invalid (RFC 9112, 2.2). */
    for (line = buf; line < end;) {
        const char *next = next_line(line, end, &eol);

        if (memchr(line, '\r', (size_t)(eol - line)) != NULL)
            return parse_error(req, 400, len);
        line = next;
    }

    /* The request line: METHOD SP TARGET SP HTTP/1.x */
    line = next_line(buf, end, &eol);
    sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp2 == NULL || sp1[1] != '/')
        return parse_error(req, 400, len);
    /* HEAD is GET without the body (RFC 9110, 9.3.2): the same handler and
     * the same headers, also on the error statuses below. */
    method_len = (size_t)(sp1 - buf);
    req->head = method_len == 4 && memcmp(buf, "HEAD", 4) == 0;
    if (eol - sp2 - 1 == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
        req->keep_alive = true;
    else if (eol - sp2 - 1 == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
        req->keep_alive = false;
    else
        return parse_error(req, 505, len);

    /* Headers, up to the empty line that ends the head. */
    while (line < end) {
        const char *lend, *next = next_line(line, end, &lend);
        const char *v;

        if ((v = header_value(line, lend, "Connection")) != NULL) {
            if (has_token(v, lend, "close"))
                req->keep_alive = false;
            else if (has_token(v, lend, "keep-alive"))
                req->keep_alive = true;
        } else if ((v = header_value(line, lend, "Content-Length")) != NULL) {
            if (lend - v != 1 || *v != '0')
                return parse_error(req, 400, len);
        } else if (header_value(line, lend, "Transfer-Encoding") != NULL) {
            return parse_error(req, 400, len);
        }
        line = next;
    }

    if (req->head || (method_len == 3 && memcmp(buf, "GET", 3) == 0)) {
        parse_target(sp1 + 1, sp2, req);
    } else {
        req->route = ROUTE_NONE;
        req->status = 405;
    }
    return head_len;
}

/* responses */

void http_respond(struct http_response *resp, int status, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(resp->body, sizeof resp->body, fmt, ap);
    va_end(ap);
    resp->status = status;
    if (n < 0)
        n = 0;
    resp->body_len =
        (size_t)n < sizeof resp->body ? (size_t)n : sizeof resp->body - 1;
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

size_t http_format(const struct http_response *resp, bool keep_alive, bool head,
                   char *out)
{
    /* Every route takes the same methods: a 405 lists them (RFC 9110,
     * 15.5.6). */
    int n = snprintf(out, HTTP_RESPONSE_MAX,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: %s\r\n"
                     "%s"
                     "\r\n",
                     resp->status, http_reason(resp->status), resp->body_len,
                     keep_alive ? "keep-alive" : "close",
                     resp->status == 405 ? "Allow: GET, HEAD\r\n" : "");

    /* The head is under 180 bytes and the body under HTTP_BODY_MAX. */
    assert(n > 0 && (size_t)n + resp->body_len <= HTTP_RESPONSE_MAX);
    if (head)
        return (size_t)n; /* the Content-Length of GET, and no body */
    memcpy(out + n, resp->body, resp->body_len);
    return (size_t)n + resp->body_len;
}
