/* Internal to the .env engine (dotenv_*.c): the character class the parser
 * and the writer share. The public ones (dotenv_utf8_valid,
 * dotenv_key_valid) are in dotenv.h. */
#ifndef PIXIE_DOTENV_CHARS_H
#define PIXIE_DOTENV_CHARS_H

#include <stddef.h>

/* Byte length of the whitespace character (Python \s on str) starting at
 * s[i] (i < n), or 0 when s[i] does not start one. */
size_t dotenv_ws_len(const unsigned char *s, size_t i, size_t n);

#endif
