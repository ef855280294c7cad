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
#endif
