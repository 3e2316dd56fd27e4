/* The escaping rule for text Pixie shows (see termtext.h). */
#include "termtext.h"

/* 1 when byte c is written as \xNN in `set`, else 0. */
static int escapes(enum termtext_set set, unsigned char c)
{
    switch (set) {
    case TERMTEXT_CONTROLS:
        return c < 0x20 || c == 0x7f;
    case TERMTEXT_LINE_BREAKS:
        return c == '\r' || c == '\n';
    case TERMTEXT_CONTROLS_BUT_LAYOUT:
    default:
        return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f;
    }
}

int termtext_escape(const char *s, size_t n, enum termtext_set set, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (escapes(set, c)) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            buf_append(out, s + run, i - run);
            buf_append(out, e, sizeof e);
            run = i + 1;
        }
    }
    return buf_append(out, s + run, n - run);
}
