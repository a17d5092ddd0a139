/* SPDX-License-Identifier: MIT */
/*
 * The handlers of jobpool-httpd's routes: what the server does once a
 * request is parsed.  /append blocks on the disk (open, write, fdatasync,
 * close) and /compress burns CPU; these are the ones the server hands to
 * the pool.  Nothing here knows about sockets, the event loop or the pool.
 */
#include "config.h"

#include "handlers.h"

#include "errtext.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATA_SUFFIX ".data"
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

/* Opens DIR/file.data for appending, creating it; returns the descriptor,
 * or -1 with errno set. */
static int data_open(int dir_fd, const char *file)
{
    char name[HTTP_FILE_MAX + sizeof DATA_SUFFIX];

    (void)snprintf(name, sizeof name, "%s" DATA_SUFFIX, file);
    return openat(dir_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  0644);
}

int http_handlers_init(struct http_handlers *h, const char *dir,
                       unsigned delay_ms)
{
    int fd, err;

    h->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h->dir_fd < 0)
        return errno;
    fd = data_open(h->dir_fd, HTTP_FILE_DEFAULT);
    if (fd < 0) {
        err = errno;
        goto fail_data;
    }
    (void)close(fd); /* only created: every append opens its file */
    h->corpus_len = CORPUS_LEN;
    h->corpus = malloc(h->corpus_len);
    if (h->corpus == NULL) {
        err = ENOMEM;
        goto fail_data;
    }
    corpus_fill(h->corpus, h->corpus_len);
    h->delay_ms = delay_ms;
    return 0;

fail_data:
    (void)close(h->dir_fd);
    h->dir_fd = -1;
    return err;
}

void http_handlers_fini(struct http_handlers *h)
{
    if (h->dir_fd >= 0)
        (void)close(h->dir_fd); /* a directory opened for reading */
    h->dir_fd = -1;
    free(h->corpus);
    h->corpus = NULL;
}

/* the routes */

bool http_route_is_slow(enum http_route route)
{
    return route == ROUTE_APPEND || route == ROUTE_COMPRESS;
}

/* Writes the whole of line[0, len) to DIR/file.data with O_APPEND (a
 * single write() of a regular file is not interleaved with other
 * appends) and makes it durable.  Returns 0, or fills *resp with a 500. */
static int append_line(const struct http_handlers *h, const char *file,
                       const char *line, size_t len, struct http_response *resp)
{
    char msg[ERRNO_TEXT_MAX];
    const char *failed = NULL;
    int fd = data_open(h->dir_fd, file), err = 0;
    ssize_t written;

    if (fd < 0) {
        http_respond(resp, 500, "open: %s\n",
                     errno_text(errno, msg, sizeof msg));
        return -1;
    }
    written = write(fd, line, len);
    if (written < 0) {
        failed = "write";
        err = errno;
    } else if ((size_t)written != len) {
        failed = "write";
        err = ENOSPC; /* a short write of a regular file: the disk is full */
    } else if (fdatasync(fd) != 0) {
        failed = "fdatasync";
        err = errno;
    }
    if (close(fd) != 0 && failed == NULL) {
        failed = "close";
        err = errno;
    }
    if (failed == NULL)
        return 0;
    http_respond(resp, 500, "%s: %s\n", failed,
                 errno_text(err, msg, sizeof msg));
    return -1;
}

/* The blocking case: one line appended to the request's file and made
 * durable before the client is told so; then --delay-ms, a slower disk. */
static void handle_append(const struct http_handlers *h,
                          const struct http_request *req,
                          struct http_response *resp)
{
    char line[32];
    int len = snprintf(line, sizeof line, "n=%llu\n", req->n);

    if (append_line(h, req->file, line, (size_t)len, resp) != 0)
        return;
    if (h->delay_ms > 0) {
        struct timespec ts = {(time_t)(h->delay_ms / 1000),
                              (long)(h->delay_ms % 1000) * 1000000L};
        int rc;

        do
            rc = nanosleep(&ts, &ts);
        while (rc != 0 && errno == EINTR);
    }
    http_respond(resp, 200, "appended n=%llu\n", req->n);
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
        handle_append(h, req, resp);
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
