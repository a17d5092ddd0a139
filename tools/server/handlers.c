/* SPDX-License-Identifier: MIT */
/*
 * The handlers of jobpool-httpd's routes: what the server does once a
 * request is parsed.  /append blocks on the disk (write, then fdatasync)
 * and /compress burns CPU; these are the ones the server hands to the
 * pool.  Nothing here knows about sockets, the event loop or the pool.
 */
#include "config.h"

#include "handlers.h"

#include "errtext.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATA_FILE "jobpool-httpd.data"
#define CORPUS_LEN ((size_t)256 * 1024)

/* handlers' shared state */

/* Fills buf with text that compresses somewhat: runs of 1 to 16 equal
 * bytes from a small alphabet, from a fixed seed so every run serves the
 * same corpus. */
static void corpus_fill(unsigned char *buf, size_t len)
{
    static const char alphabet[] = "etaoin shrdlu\n";
    uint32_t x = 2463534242u;
    size_t i = 0;

    while (i < len) {
        size_t run;
        unsigned char c;

        x ^= x << 13; /* xorshift32 */
        x ^= x >> 17;
        x ^= x << 5;
        c = (unsigned char)alphabet[x % (sizeof alphabet - 1)];
        for (run = 1 + (x >> 8) % 16; run > 0 && i < len; run--)
            buf[i++] = c;
    }
}

int http_handlers_init(struct http_handlers *h, const char *dir,
                       unsigned delay_ms)
{
    char path[PATH_MAX];
    int n;

    n = snprintf(path, sizeof path, "%s/%s", dir, DATA_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return ENAMETOOLONG;
    h->corpus_len = CORPUS_LEN;
    h->corpus = malloc(h->corpus_len);
    if (h->corpus == NULL)
        return ENOMEM;
    corpus_fill(h->corpus, h->corpus_len);
    h->delay_ms = delay_ms;
    h->append_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (h->append_fd < 0) {
        int err = errno;

        free(h->corpus);
        h->corpus = NULL;
        return err;
    }
    return 0;
}

void http_handlers_fini(struct http_handlers *h)
{
    if (h->append_fd >= 0 && close(h->append_fd) != 0)
        perror("jobpool-httpd: close " DATA_FILE);
    h->append_fd = -1;
    free(h->corpus);
    h->corpus = NULL;
}

/* the routes */

bool http_route_is_slow(enum http_route route)
{
    return route == ROUTE_APPEND || route == ROUTE_COMPRESS;
}

/* The blocking case: one line written with O_APPEND (a single write() of
 * a regular file is not interleaved with other appends), then made durable
 * before the client is told so. */
static void handle_append(const struct http_handlers *h, unsigned long long n,
                          struct http_response *resp)
{
    char line[32], msg[ERRNO_TEXT_MAX];
    int len = snprintf(line, sizeof line, "n=%llu\n", n);
    ssize_t written = write(h->append_fd, line, (size_t)len);

    if (written < 0) {
        http_respond(resp, 500, "write: %s\n",
                     errno_text(errno, msg, sizeof msg));
        return;
    }
    if (written != len) {
        http_respond(resp, 500, "write: short write (disk full?)\n");
        return;
    }
    if (fdatasync(h->append_fd) != 0) {
        http_respond(resp, 500, "fdatasync: %s\n",
                     errno_text(errno, msg, sizeof msg));
        return;
    }
    if (h->delay_ms > 0) {
        struct timespec ts = {(time_t)(h->delay_ms / 1000),
                              (long)(h->delay_ms % 1000) * 1000000L};
        int rc;

        do
            rc = nanosleep(&ts, &ts);
        while (rc != 0 && errno == EINTR);
    }
    http_respond(resp, 200, "appended n=%llu\n", n);
}

/* Run-length encodes in[0, len) into out as (count, byte) pairs, count
 * 1..255; out needs room for 2 * len bytes.  Returns the encoded length. */
static size_t rle_encode(const unsigned char *in, size_t len,
                         unsigned char *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        size_t run = 1;

        while (i + run < len && run < 255 && in[i + run] == in[i])
            run++;
        out[o++] = (unsigned char)run;
        out[o++] = in[i];
        i += run;
    }
    return o;
}

/* CRC-32 as gzip computes it, one bit at a time: about as many cycles per
 * byte as a real compressor spends, which is the point here. */
static uint32_t crc32_bitwise(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;

    while (len-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* The CPU-bound case: compress the corpus and, as gzip does, checksum
 * what was compressed. */
static void handle_compress(const struct http_handlers *h,
                            struct http_response *resp)
{
    unsigned char *out = malloc(2 * h->corpus_len);
    size_t out_len;

    if (out == NULL) {
        http_respond(resp, 500, "compress: out of memory\n");
        return;
    }
    out_len = rle_encode(h->corpus, h->corpus_len, out);
    http_respond(resp, 200, "compressed %zu to %zu bytes, crc32 %08x\n",
                 h->corpus_len, out_len,
                 (unsigned)crc32_bitwise(h->corpus, h->corpus_len));
    free(out);
}

void http_run(const struct http_handlers *h, const struct http_request *req,
              struct http_response *resp)
{
    switch (req->route) {
    case ROUTE_FAST:
        http_respond(resp, 200, "fast\n");
        break;
    case ROUTE_APPEND:
        handle_append(h, req->n, resp);
        break;
    case ROUTE_COMPRESS:
        handle_compress(h, resp);
        break;
    case ROUTE_STATS: /* answered by the server, which has the counters */
    case ROUTE_NONE:
    default:
        http_respond(resp, req->status, "%s\n", http_reason(req->status));
        break;
    }
}
