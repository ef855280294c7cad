// The zlib entry points whose C macros Swift cannot import directly.
#ifndef VOLLEY_CZLIB_SHIM_H
#define VOLLEY_CZLIB_SHIM_H
#include <zlib.h>

static inline int volley_deflate_init(z_stream *stream, int level) {
    return deflateInit(stream, level);
}

static inline int volley_inflate_init(z_stream *stream) {
    return inflateInit(stream);
}

// Raw DEFLATE streams (no zlib header): negative window bits, as permessage-deflate needs.
static inline int volley_raw_deflate_init(z_stream *stream, int level, int window_bits, int memory_level) {
    return deflateInit2(stream, level, Z_DEFLATED, -window_bits, memory_level, Z_DEFAULT_STRATEGY);
}

static inline int volley_raw_inflate_init(z_stream *stream, int window_bits) {
    return inflateInit2(stream, -window_bits);
}
#endif
