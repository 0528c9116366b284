/* SPDX-License-Identifier: MIT */
/* test_jsoncheck.c - tests for pb__json_check (src/jsoncheck.c).
 *
 * Standalone: prints one line per failed check (file:line) and ends with
 * "N passed, M failed"; exits non-zero on any failure. Every input is copied into
 * a heap block of exactly its length, so sanitizers catch any read past the end.
 */
#include "jsoncheck.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char u8;

static unsigned long g_pass, g_fail;

#define FAILF(line, ...)                                   \
    do {                                                   \
        g_fail++;                                          \
        printf("%s:%d: ", __FILE__, (line));               \
        printf(__VA_ARGS__);                               \
        printf("\n");                                      \
    } while (0)

#define CHECK(cond)                                        \
    do {                                                   \
        if (cond)                                          \
            g_pass++;                                      \
        else                                               \
            FAILF(__LINE__, "check failed: %s", #cond);    \
    } while (0)

static const char *code_name(int code)
{
    switch (code) {
    case PB__JSON_OK: return "OK";
    case PB__JSON_ESYNTAX: return "ESYNTAX";
    case PB__JSON_EUTF8: return "EUTF8";
    case PB__JSON_ENOMEM: return "ENOMEM";
    default: return "?";
    }
}

/* Checks through an exact-size copy so that no byte past n is ever readable. */
static int check_copy(const void *s, size_t n, pb__json_error *err)
{
    char *b = malloc(n ? n : 1);
    int rc;

    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(b, s, n);
    rc = pb__json_check(b, n, err);
    free(b);
    return rc;
}

static void show(const char *s, size_t n, char *out, size_t outsz)
{
    size_t i, k = 0;

    for (i = 0; i < n && k + 8 < outsz; i++) {
        u8 c = (u8)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, outsz - k, "\\x%02x", c);
    }
    if (i < n)
        k += (size_t)snprintf(out + k, outsz - k, "...");
    out[k] = '\0';
}

/* Messages: lower-case start, no trailing period, not empty. */
static int message_well_formed(const char *m)
{
    size_t len = strlen(m);
    return len > 0 && len < 128 && m[0] >= 'a' && m[0] <= 'z' && m[len - 1] != '.';
}

static void ok_at(int line, const char *s, size_t n)
{
    pb__json_error e;
    int rc = check_copy(s, n, &e);
    char buf[200];

    if (rc == 0 && e.offset == 0 && e.line == 0 && e.column == 0 && e.message[0] == '\0') {
        g_pass++;
    } else {
        show(s, n, buf, sizeof buf);
        FAILF(line, "expected valid: \"%s\" -> %s at %zu (%zu:%zu): %s",
              buf, code_name(rc), e.offset, e.line, e.column, e.message);
    }
}

/* offset/line/column of (size_t)-1 mean "don't care"; msg NULL means "don't care",
 * a message starting with '~' means "contains". */
static void err_at(int line, const char *s, size_t n, int code, size_t off, size_t ln,
                   size_t col, const char *msg)
{
    pb__json_error e;
    int rc = check_copy(s, n, &e);
    int rc2 = check_copy(s, n, NULL);
    int good = rc == code && rc2 == code;
    char buf[200];

    if (off != (size_t)-1 && e.offset != off) good = 0;
    if (ln != (size_t)-1 && e.line != ln) good = 0;
    if (col != (size_t)-1 && e.column != col) good = 0;
    if (msg && msg[0] == '~' && !strstr(e.message, msg + 1)) good = 0;
    if (msg && msg[0] != '~' && strcmp(e.message, msg) != 0) good = 0;
    if (!message_well_formed(e.message)) good = 0;
    if (good) {
        g_pass++;
    } else {
        show(s, n, buf, sizeof buf);
        FAILF(line, "\"%s\": expected %s at %zu (%zu:%zu) \"%s\", got %s/%s at %zu (%zu:%zu) \"%s\"",
              buf, code_name(code), off, ln, col, msg ? msg : "*", code_name(rc),
              code_name(rc2), e.offset, e.line, e.column, e.message);
    }
}

#define ANY ((size_t)-1)
#define OK(lit) ok_at(__LINE__, (lit), sizeof(lit) - 1)
#define BAD(lit, code) err_at(__LINE__, (lit), sizeof(lit) - 1, (code), ANY, ANY, ANY, NULL)
#define SYN(lit) BAD(lit, PB__JSON_ESYNTAX)
#define UTF(lit) BAD(lit, PB__JSON_EUTF8)
#define ERR(lit, code, off, ln, col, msg) \
    err_at(__LINE__, (lit), sizeof(lit) - 1, (code), (off), (ln), (col), (msg))
#define ESYN PB__JSON_ESYNTAX
#define EUTF PB__JSON_EUTF8

/* ---- fixed cases -------------------------------------------------------- */

static void test_valid(void)
{
    /* scalars and every number grammar branch */
    OK("0"); OK("-0"); OK("1"); OK("-1"); OK("7"); OK("10"); OK("123456789");
    OK("12345678901234567890123456789012345678901234567890");
    OK("0.5"); OK("-0.0"); OK("3.14159"); OK("10.01");
    OK("1e5"); OK("1E5"); OK("1e+5"); OK("1e-5"); OK("1E+05"); OK("0e0"); OK("-0E-0");
    OK("1.5e10"); OK("-1.25E-003"); OK("123.456e789"); OK("1e999999");
    OK("true"); OK("false"); OK("null");
    OK("\"\""); OK("\"x\""); OK("\"hello, world\"");
    OK("  1  "); OK("\t\n\r 1\r\n"); OK(" \"a\"\n");
    /* containers */
    OK("[]"); OK("{}"); OK("[ ]"); OK("{ }"); OK("[\n]"); OK("{\r\n}");
    OK("[1]"); OK("[1,2,3]"); OK("[ 1 , 2 , 3 ]"); OK("[[[]]]"); OK("[[],[[]],{}]");
    OK("{\"a\":1}"); OK("{ \"a\" : 1 , \"b\" : [ true , false , null ] }");
    OK("{\"a\":{\"b\":[1,{\"c\":null}]}}");
    OK("{\"a\":1,\"a\":2}"); /* duplicate keys are valid JSON */
    OK("[\"a\",{\"b\":\"c\"},[-1.5e-3,0,\"\"],{}]");
    OK("{\"\":\"\"}"); OK("[{},{}]"); OK("[0,-0,0.0,1e1]");
    OK("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
       "\"geometry\":{\"type\":\"Point\",\"coordinates\":[151.2293968,-33.8970021]}}]}");
    /* escapes, including lone and reversed surrogate escapes */
    OK("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    OK("\"\\u0041\\u00e9\\u00E9\\uABCD\\uabcd\\uFFFF\\u0000\"");
    OK("\"\\uD83D\\uDE00\""); OK("\"\\ud800\""); OK("\"\\udfff\""); OK("\"\\uDC00\\uD800\"");
    OK("\"\\ud800x\""); OK("[\"\\\\\"]"); OK("\"\\\\\\\"\"");
    /* multi-byte UTF-8 at the edges of each length, inside strings */
    OK("\"\xc2\x80\"");             /* U+0080 */
    OK("\"\xdf\xbf\"");             /* U+07FF */
    OK("\"\xc3\xa9t\xc3\xa9\"");    /* été */
    OK("\"\xe0\xa0\x80\"");         /* U+0800 */
    OK("\"\xe2\x82\xac\"");         /* euro */
    OK("\"\xed\x9f\xbf\"");         /* U+D7FF */
    OK("\"\xee\x80\x80\"");         /* U+E000 */
    OK("\"\xef\xbf\xbf\"");         /* U+FFFF */
    OK("\"\xef\xbb\xbf\"");         /* U+FEFF inside a string is just a character */
    OK("\"\xf0\x90\x80\x80\"");     /* U+10000 */
    OK("\"\xf0\x9d\x84\x9e\"");     /* U+1D11E */
    OK("\"\xf4\x8f\xbf\xbf\"");     /* U+10FFFF */
    OK("{\"\xe6\x97\xa5\xe6\x9c\xac\":\"\xf0\x9f\x98\x80\"}");
    OK("\"\x7f\"");                 /* DEL is not a control character for JSON */
    /* string lengths around the 8-byte block size */
    OK("\"1234567\""); OK("\"12345678\""); OK("\"123456789\"");
    OK("\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\"");
    OK("\"abcdefg\\nhijklmnop\\u0041qrstuvw\xc3\xa9xyz\"");
    OK("\"                                        \"");
    /* long whitespace runs around the 8-byte block size */
    OK("[                1,\n                        2\n        ]");
    OK("       1"); OK("        1"); OK("         1"); OK("1        ");
}

static void test_syntax_errors(void)
{
    /* the positions in the brief */
    ERR("{\"a\":1,\n  \"b\":}", ESYN, 14, 2, 7, "unexpected character '}'");
    ERR("[\"\xc3\xa9\", x]", ESYN, 7, 1, 7, "unexpected character 'x'");
    ERR("\"\xf0\x9d\x84\x9e\" x", ESYN, 7, 1, 5, "trailing characters after the JSON value");
    ERR("[1,\n \"\xe2\x82\xac\xe2\x82\xac\" ? ]", ESYN, 14, 2, 7, "~'?'");

    /* empty input, whitespace only */
    ERR("", ESYN, 0, 1, 1, "unexpected end of input");
    ERR(" ", ESYN, 1, 1, 2, "unexpected end of input");
    ERR("  \n ", ESYN, 4, 2, 2, "unexpected end of input");
    ERR("\n\n\n", ESYN, 3, 4, 1, "unexpected end of input");

    /* byte order mark, other non-whitespace */
    ERR("\xef\xbb\xbf{}", ESYN, 0, 1, 1, "~byte order mark");
    ERR("\xef\xbb\xbf", ESYN, 0, 1, 1, "~byte order mark");
    ERR("[\xef\xbb\xbf]", ESYN, 1, 1, 2, "~byte order mark");
    ERR("\xc2\xa0[]", ESYN, 0, 1, 1, "unexpected character U+00A0");
    ERR("[1,\x0b""2]", ESYN, 3, 1, 4, "unexpected character U+000B");
    ERR("[1,\f2]", ESYN, 3, 1, 4, "unexpected character U+000C");
    ERR("\xe2\x80\x83""1", ESYN, 0, 1, 1, "unexpected character U+2003");
    ERR("\xf0\x9f\x98\x80", ESYN, 0, 1, 1, "unexpected character U+1F600");
    ERR("x", ESYN, 0, 1, 1, "unexpected character 'x'");
    ERR("\x7f", ESYN, 0, 1, 1, "unexpected character U+007F");

    /* NUL bytes */
    ERR("\0", ESYN, 0, 1, 1, "unexpected character U+0000");
    ERR("[1,\0]", ESYN, 3, 1, 4, "unexpected character U+0000");
    ERR("\"a\0b\"", ESYN, 2, 1, 3, "control character U+0000 in string");
    ERR("1\0", ESYN, 1, 1, 2, "trailing characters after the JSON value");
    ERR("[]\0", ESYN, 2, 1, 3, "trailing characters after the JSON value");
    ERR("\"\\\0\"", ESYN, 2, 1, 3, "invalid escape: backslash followed by U+0000");
    ERR("{\"a\"\0:1}", ESYN, 4, 1, 5, "expected ':' after object key");

    /* strings: unterminated, control characters, escapes */
    ERR("\"abc", ESYN, 4, 1, 5, "unterminated string");
    ERR("\"", ESYN, 1, 1, 2, "unterminated string");
    ERR("\"abc\\", ESYN, 5, 1, 6, "unterminated string");
    ERR("\"\\u12", ESYN, 5, 1, 6, "unterminated string");
    ERR("[\"abc\xc3\xa9", ESYN, 7, 1, 7, "unterminated string");
    ERR("\"a\nb\"", ESYN, 2, 1, 3, "control character U+000A in string");
    ERR("\"\t\"", ESYN, 1, 1, 2, "control character U+0009 in string");
    ERR("\"\r\"", ESYN, 1, 1, 2, "control character U+000D in string");
    ERR("\"\x1f\"", ESYN, 1, 1, 2, "control character U+001F in string");
    ERR("\"\xc3\xa9\x01\"", ESYN, 3, 1, 3, "control character U+0001 in string");
    ERR("\"\\q\"", ESYN, 2, 1, 3, "invalid escape '\\q'");
    ERR("\"\\x41\"", ESYN, 2, 1, 3, "invalid escape '\\x'");
    ERR("\"\\U0041\"", ESYN, 2, 1, 3, "invalid escape '\\U'");
    ERR("\"\\'\"", ESYN, 2, 1, 3, "invalid escape '\\''");
    ERR("\"\\ \"", ESYN, 2, 1, 3, "invalid escape '\\ '");
    ERR("\"\\0\"", ESYN, 2, 1, 3, "invalid escape '\\0'");
    ERR("\"\\\n\"", ESYN, 2, 1, 3, "invalid escape: backslash followed by U+000A");
    ERR("\"\\\xc3\xa9\"", ESYN, 2, 1, 3, "invalid escape: backslash followed by U+00E9");
    ERR("\"\\u12G4\"", ESYN, 5, 1, 6, "invalid \\u escape, expected hex digit, found 'G'");
    ERR("\"\\u\"", ESYN, 3, 1, 4, "invalid \\u escape, expected hex digit, found '\"'");
    ERR("\"\\u-123\"", ESYN, 3, 1, 4, NULL);
    ERR("\"\\uD83D\\u\"", ESYN, 9, 1, 10, NULL);
    ERR("'a'", ESYN, 0, 1, 1, "unexpected character '''");

    /* numbers */
    ERR("01", ESYN, 1, 1, 2, "invalid number: leading zero");
    ERR("-01", ESYN, 2, 1, 3, "invalid number: leading zero");
    ERR("00", ESYN, 1, 1, 2, "invalid number: leading zero");
    ERR("[007]", ESYN, 2, 1, 3, "invalid number: leading zero");
    ERR("+1", ESYN, 0, 1, 1, "unexpected character '+'");
    ERR(".5", ESYN, 0, 1, 1, "unexpected character '.'");
    ERR("1.", ESYN, 2, 1, 3, "invalid number: expected digit after '.'");
    ERR("1.e5", ESYN, 2, 1, 3, "invalid number: expected digit after '.'");
    ERR("[1.]", ESYN, 3, 1, 4, "invalid number: expected digit after '.'");
    ERR("1e", ESYN, 2, 1, 3, "invalid number: expected digit in exponent");
    ERR("1e+", ESYN, 3, 1, 4, "invalid number: expected digit in exponent");
    ERR("1E-x", ESYN, 3, 1, 4, "invalid number: expected digit in exponent");
    ERR("1ee5", ESYN, 2, 1, 3, "invalid number: expected digit in exponent");
    ERR("-", ESYN, 1, 1, 2, "invalid number: expected digit after '-'");
    ERR("--1", ESYN, 1, 1, 2, "invalid number: expected digit after '-'");
    ERR("- 1", ESYN, 1, 1, 2, "invalid number: expected digit after '-'");
    ERR("[-]", ESYN, 2, 1, 3, "invalid number: expected digit after '-'");
    ERR("-Infinity", ESYN, 1, 1, 2, "invalid number: expected digit after '-'");
    ERR("0x1F", ESYN, 1, 1, 2, "trailing characters after the JSON value");
    ERR("1.5.3", ESYN, 3, 1, 4, "trailing characters after the JSON value");
    ERR("1e5.5", ESYN, 3, 1, 4, "trailing characters after the JSON value");
    ERR("[1e5.5]", ESYN, 4, 1, 5, "expected ',' or ']' after array element, found '.'");
    ERR("NaN", ESYN, 0, 1, 1, "unexpected character 'N'");
    ERR("Infinity", ESYN, 0, 1, 1, "unexpected character 'I'");
    ERR("1 2", ESYN, 2, 1, 3, "trailing characters after the JSON value");

    /* literals */
    ERR("tru", ESYN, 3, 1, 4, "invalid literal, expected 'true'");
    ERR("t", ESYN, 1, 1, 2, "invalid literal, expected 'true'");
    ERR("trUe", ESYN, 2, 1, 3, "invalid literal, expected 'true'");
    ERR("fals", ESYN, 4, 1, 5, "invalid literal, expected 'false'");
    ERR("[nul]", ESYN, 4, 1, 5, "invalid literal, expected 'null'");
    ERR("nulll", ESYN, 4, 1, 5, "trailing characters after the JSON value");
    ERR("falsy", ESYN, 4, 1, 5, "invalid literal, expected 'false'");
    ERR("True", ESYN, 0, 1, 1, "unexpected character 'T'");
    ERR("NULL", ESYN, 0, 1, 1, "unexpected character 'N'");

    /* structure */
    ERR("[1,]", ESYN, 3, 1, 4, "unexpected character ']'");
    ERR("[,1]", ESYN, 1, 1, 2, "unexpected character ','");
    ERR("[1 2]", ESYN, 3, 1, 4, "expected ',' or ']' after array element, found '2'");
    ERR("[1;2]", ESYN, 2, 1, 3, "expected ',' or ']' after array element, found ';'");
    ERR("[1}", ESYN, 2, 1, 3, "expected ',' or ']' after array element, found '}'");
    ERR("{,}", ESYN, 1, 1, 2, "expected object key, found ','");
    ERR("{\"a\":1,}", ESYN, 7, 1, 8, "expected object key, found '}'");
    ERR("{1:2}", ESYN, 1, 1, 2, "expected object key, found '1'");
    ERR("{'a':1}", ESYN, 1, 1, 2, "expected object key, found '''");
    ERR("{\"a\"}", ESYN, 4, 1, 5, "expected ':' after object key");
    ERR("{\"a\" 1}", ESYN, 5, 1, 6, "expected ':' after object key");
    ERR("{\"a\"", ESYN, 4, 1, 5, "expected ':' after object key");
    ERR("{\"a\":}", ESYN, 5, 1, 6, "unexpected character '}'");
    ERR("{\"a\":1]", ESYN, 6, 1, 7, "expected ',' or '}' after object member, found ']'");
    ERR("{\"a\":1 \"b\":2}", ESYN, 7, 1, 8, "expected ',' or '}' after object member, found '\"'");
    ERR("]", ESYN, 0, 1, 1, "unexpected character ']'");
    ERR("}", ESYN, 0, 1, 1, "unexpected character '}'");
    ERR("[}", ESYN, 1, 1, 2, "unexpected character '}'");
    ERR("{]", ESYN, 1, 1, 2, "expected object key, found ']'");
    ERR("[1]]", ESYN, 3, 1, 4, "trailing characters after the JSON value");
    ERR("{\"a\":1}}", ESYN, 7, 1, 8, "trailing characters after the JSON value");
    ERR("[]{}", ESYN, 2, 1, 3, "trailing characters after the JSON value");
    ERR("\"a\" \"b\"", ESYN, 4, 1, 5, "trailing characters after the JSON value");
    ERR("null,", ESYN, 4, 1, 5, "trailing characters after the JSON value");
    ERR("{} x", ESYN, 3, 1, 4, "trailing characters after the JSON value");
    ERR("[", ESYN, 1, 1, 2, "unexpected end of input");
    ERR("{", ESYN, 1, 1, 2, "unexpected end of input");
    ERR("[[]", ESYN, 3, 1, 4, "unexpected end of input");
    ERR("[1,2", ESYN, 4, 1, 5, "unexpected end of input");
    ERR("[1,", ESYN, 3, 1, 4, "unexpected end of input");
    ERR("{\"a\":", ESYN, 5, 1, 6, "unexpected end of input");
    ERR("{\"a\":1", ESYN, 6, 1, 7, "unexpected end of input");
    ERR("{\"a\":1,", ESYN, 7, 1, 8, "unexpected end of input");
    ERR("{\"a\":[1,{\"b\":2]}", ESYN, 14, 1, 15, "~found ']'");

    /* line counting: \n, \r\n and a lone \r each end one line */
    ERR("[\r\n\r\n x]", ESYN, 6, 3, 2, "unexpected character 'x'");
    ERR("[\r x]", ESYN, 3, 2, 2, "unexpected character 'x'");
    ERR("[\n\rx]", ESYN, 3, 3, 1, "unexpected character 'x'");
    ERR("[\r\r\n\n\tx]", ESYN, 6, 4, 2, "unexpected character 'x'");
    ERR("{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":\n\"\xc3\xa9\" ,\n \"k\" \"v\"}",
        ESYN, 26, 3, 6, "expected ':' after object key");
}

static void test_utf8_errors(void)
{
    /* inside strings */
    ERR("\"\x80\"", EUTF, 1, 1, 2, "invalid UTF-8 byte 0x80 (stray continuation byte)");
    ERR("\"\xbf\"", EUTF, 1, 1, 2, "~0xbf");
    ERR("\"\xc0\x80\"", EUTF, 1, 1, 2, "invalid UTF-8 byte 0xc0 (overlong encoding)");
    ERR("\"\xc1\xbf\"", EUTF, 1, 1, 2, "~0xc1");
    ERR("\"\xe0\x80\x80\"", EUTF, 1, 1, 2, "invalid UTF-8 sequence 0xe0 0x80 (overlong encoding)");
    ERR("\"\xe0\x9f\xbf\"", EUTF, 1, 1, 2, "~overlong");
    ERR("\"\xf0\x80\x80\x80\"", EUTF, 1, 1, 2, "~overlong");
    ERR("\"\xf0\x8f\xbf\xbf\"", EUTF, 1, 1, 2, "~overlong");
    ERR("\"\xed\xa0\x80\"", EUTF, 1, 1, 2, "invalid UTF-8 sequence 0xed 0xa0 (encoded surrogate)");
    ERR("\"\xed\xbf\xbf\"", EUTF, 1, 1, 2, "~surrogate");
    ERR("\"\xed\xa0\xbd\xed\xb8\x80\"", EUTF, 1, 1, 2, "~surrogate"); /* CESU-8 pair */
    ERR("\"\xf4\x90\x80\x80\"", EUTF, 1, 1, 2,
        "invalid UTF-8 sequence 0xf4 0x90 (code point above U+10FFFF)");
    ERR("\"\xf5\x80\x80\x80\"", EUTF, 1, 1, 2, "~0xf5");
    ERR("\"\xf7\xbf\xbf\xbf\"", EUTF, 1, 1, 2, "~0xf7");
    ERR("\"\xf8\x88\x80\x80\x80\"", EUTF, 1, 1, 2, "invalid UTF-8 byte 0xf8");
    ERR("\"\xfe\"", EUTF, 1, 1, 2, "invalid UTF-8 byte 0xfe");
    ERR("\"\xff\"", EUTF, 1, 1, 2, "invalid UTF-8 byte 0xff");
    ERR("\"\xc3\"", EUTF, 1, 1, 2, "invalid UTF-8 sequence 0xc3 (truncated)");
    ERR("\"\xe2\x82\"", EUTF, 1, 1, 2, "invalid UTF-8 sequence 0xe2 0x82 (truncated)");
    ERR("\"\xe2\x82x\"", EUTF, 1, 1, 2, "~truncated");
    ERR("\"\xf0\x9f\x98\"", EUTF, 1, 1, 2, "~truncated");
    ERR("\"\xc3\xc3\xa9\"", EUTF, 1, 1, 2, "~truncated");
    /* truncated by the end of input wins over "unterminated string" */
    ERR("\"\xe2\x82", EUTF, 1, 1, 2,
        "invalid UTF-8 sequence 0xe2 0x82 (truncated at end of input)");
    ERR("\"\xf0", EUTF, 1, 1, 2, "~truncated at end of input");
    ERR("[\"ab\xf0\x9f\x98", EUTF, 4, 1, 5, "~truncated at end of input");
    /* column of the bad byte counts the characters before it */
    ERR("\"\xc3\xa9\xff\"", EUTF, 3, 1, 3, "invalid UTF-8 byte 0xff");
    ERR("[\n \"ab\xff\"]", EUTF, 6, 2, 5, "invalid UTF-8 byte 0xff");
    ERR("{\"k\":\r\n\t\"\xe6\x97\xa5\xe6\x9c\xac\xed\xb0\x80\"}", EUTF, 15, 2, 5, "~surrogate");

    /* outside strings: still a UTF-8 error */
    ERR("\xff", EUTF, 0, 1, 1, "invalid UTF-8 byte 0xff");
    ERR("\x80", EUTF, 0, 1, 1, "invalid UTF-8 byte 0x80 (stray continuation byte)");
    ERR("\xc0\x80", EUTF, 0, 1, 1, "~0xc0");
    ERR("[1,\x80]", EUTF, 3, 1, 4, NULL);
    ERR("1\xff", EUTF, 1, 1, 2, NULL);
    ERR("[] \xed\xa0\x80", EUTF, 3, 1, 4, "~surrogate");
    ERR("{\"a\"\xc0:1}", EUTF, 4, 1, 5, NULL);
    ERR("{\xf4\x90\x80\x80:1}", EUTF, 1, 1, 2, "~above U+10FFFF");
    ERR("[1\xe2\x82]", EUTF, 2, 1, 3, "~truncated");
    ERR("t\xff", EUTF, 1, 1, 2, NULL);
    ERR("-\xc1", EUTF, 1, 1, 2, NULL);
    ERR("\"\\\xff\"", EUTF, 2, 1, 3, NULL);
    ERR("\"\\u1\xff\"", EUTF, 4, 1, 5, NULL);
    ERR("\xe2\x82", EUTF, 0, 1, 1, "~truncated at end of input");
    /* the first error wins */
    ERR("[1,]\xff", ESYN, 3, 1, 4, NULL);
    ERR("[\"\xff\",]", EUTF, 2, 1, 3, NULL);
    ERR("\"\xff\n\"", EUTF, 1, 1, 2, NULL);
    ERR("\"\n\xff\"", ESYN, 1, 1, 2, NULL);
}

/* Every byte value at every position of a long string, so that each lane of the
 * 8-byte block scan sees each kind of byte, and long whitespace runs likewise. */
static void test_blocks(void)
{
    char s[40];
    pb__json_error e;
    int v, pos, rc, want, bad = 0;
    size_t n = 34, want_off;

    for (v = 0; v < 256; v++) {
        for (pos = 1; pos < 33; pos++) {
            memset(s, 'a', n);
            s[0] = '"';
            s[n - 1] = '"';
            s[pos] = (char)v;
            rc = check_copy(s, n, &e);
            want_off = (size_t)pos;
            if (v < 0x20 || v >= 0x80)
                want = v < 0x20 ? PB__JSON_ESYNTAX : PB__JSON_EUTF8;
            else if (v == '\\')
                want = PB__JSON_ESYNTAX, want_off = pos == 32 ? n : (size_t)pos + 1;
            else if (v == '"')
                want = PB__JSON_ESYNTAX, want_off = (size_t)pos + 1;
            else
                want = 0;
            if (rc != want || (want && e.offset != want_off)) {
                if (bad++ < 5)
                    FAILF(__LINE__, "byte 0x%02x at %d in a string: got %s at %zu",
                          (unsigned)v, pos, code_name(rc), e.offset);
            }
            /* the same position in a run of spaces */
            memset(s, ' ', n);
            s[0] = '[';
            s[n - 1] = ']';
            s[pos] = (char)v;
            rc = check_copy(s, n, &e);
            want = v == ' ' || v == '\t' || v == '\n' || v == '\r' ||
                   (v >= '0' && v <= '9') ? 0
                   : v >= 0x80 ? PB__JSON_EUTF8 : PB__JSON_ESYNTAX;
            if (v == '"' || v == '[' || v == ']' || v == '{' || v == ',' || v == '-' ||
                v == 't' || v == 'f' || v == 'n')
                want = PB__JSON_ESYNTAX;
            if (rc != want || (want && want != PB__JSON_ESYNTAX && e.offset != (size_t)pos)) {
                if (bad++ < 5)
                    FAILF(__LINE__, "byte 0x%02x at %d in spaces: got %s at %zu",
                          (unsigned)v, pos, code_name(rc), e.offset);
            }
        }
    }
    CHECK(bad == 0);
}

static void test_api(void)
{
    pb__json_error e;

    memset(&e, 0x5a, sizeof e);
    CHECK(pb__json_check("[1]", 3, &e) == 0);
    CHECK(e.offset == 0 && e.line == 0 && e.column == 0 && e.message[0] == '\0');
    CHECK(pb__json_check(NULL, 0, &e) == PB__JSON_ESYNTAX);
    CHECK(strcmp(e.message, "unexpected end of input") == 0 && e.line == 1 && e.column == 1);
    CHECK(pb__json_check(NULL, 0, NULL) == PB__JSON_ESYNTAX);
    CHECK(pb__json_check("[1] trailing", 3, NULL) == 0); /* n bounds the input */
    CHECK(pb__json_check("\"abc\"", 4, &e) == PB__JSON_ESYNTAX && e.offset == 4);
    CHECK(pb__json_check("[]", 2, NULL) == 0);
}

/* ---- deep nesting ------------------------------------------------------- */

static void test_deep(void)
{
    const size_t D = 10000000;
    char *b = malloc(2 * D + 2);
    pb__json_error e;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t i, n, bad;

    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(b, '[', D);
    memset(b + D, ']', D);
    CHECK(pb__json_check(b, 2 * D, &e) == 0);
    CHECK(pb__json_check(b, D, &e) == PB__JSON_ESYNTAX);
    CHECK(e.offset == D && e.line == 1 && e.column == D + 1);
    CHECK(strcmp(e.message, "unexpected end of input") == 0);
    CHECK(pb__json_check(b, 2 * D - 1, &e) == PB__JSON_ESYNTAX && e.offset == 2 * D - 1);
    b[2 * D] = ']';
    CHECK(pb__json_check(b, 2 * D + 1, &e) == PB__JSON_ESYNTAX && e.offset == 2 * D);
    CHECK(strcmp(e.message, "trailing characters after the JSON value") == 0);
    b[D + 123] = '}';
    CHECK(pb__json_check(b, 2 * D, &e) == PB__JSON_ESYNTAX && e.offset == D + 123);

    /* objects and arrays mixed at random, far beyond the inline stack: the closing
     * bracket at every level must match what was opened there */
    {
        const size_t M = 1000000;
        u8 *kind = malloc(M);
        char *t = malloc(M * 6 + M + 16);
        if (!kind || !t) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        n = 0;
        for (i = 0; i < M; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            kind[i] = (u8)(x >> 63);
            if (kind[i]) {
                memcpy(t + n, "{\"k\":", 5);
                n += 5;
            } else {
                t[n++] = '[';
            }
        }
        t[n++] = '0';
        bad = 0;
        for (i = M; i-- > 0;) {
            if (i == M / 3)
                bad = n;
            t[n++] = kind[i] ? '}' : ']';
        }
        CHECK(pb__json_check(t, n, &e) == 0);
        t[bad] = t[bad] == '}' ? ']' : '}';
        CHECK(pb__json_check(t, n, &e) == PB__JSON_ESYNTAX && e.offset == bad);
        t[bad] = t[bad] == '}' ? ']' : '}';
        CHECK(pb__json_check(t, n - 1, &e) == PB__JSON_ESYNTAX && e.offset == n - 1);
        free(kind);
        free(t);
    }
    free(b);
}

/* ---- reference validator: recursive, straight from the RFC 8259 grammar ---- */

typedef struct ref {
    const u8 *s;
    size_t n, i;
    int depth, too_deep;
} ref;

enum { REF_MAX_DEPTH = 1000 };

static int r_peek(const ref *r)
{
    return r->i < r->n ? r->s[r->i] : -1;
}

static void r_ws(ref *r)
{
    int c;
    while ((c = r_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        r->i++;
}

static int r_isdigit(int c)
{
    return c >= '0' && c <= '9';
}

static int r_literal(ref *r, const char *w)
{
    for (; *w; w++, r->i++)
        if (r_peek(r) != (u8)*w)
            return 0;
    return 1;
}

static int r_string(ref *r)
{
    int c, k;

    r->i++; /* opening quote */
    for (;;) {
        c = r_peek(r);
        if (c < 0x20) /* includes end of input */
            return 0;
        if (c == '"') {
            r->i++;
            return 1;
        }
        if (c == '\\') {
            r->i++;
            c = r_peek(r);
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                c == 'r' || c == 't') {
                r->i++;
            } else if (c == 'u') {
                r->i++;
                for (k = 0; k < 4; k++, r->i++) {
                    c = r_peek(r);
                    if (!(r_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                        return 0;
                }
            } else {
                return 0;
            }
        } else {
            r->i++; /* any other byte; UTF-8 is checked separately */
        }
    }
}

static int r_number(ref *r)
{
    if (r_peek(r) == '-')
        r->i++;
    if (r_peek(r) == '0') {
        r->i++;
    } else if (r_isdigit(r_peek(r))) {
        while (r_isdigit(r_peek(r)))
            r->i++;
    } else {
        return 0;
    }
    if (r_peek(r) == '.') {
        r->i++;
        if (!r_isdigit(r_peek(r)))
            return 0;
        while (r_isdigit(r_peek(r)))
            r->i++;
    }
    if (r_peek(r) == 'e' || r_peek(r) == 'E') {
        r->i++;
        if (r_peek(r) == '+' || r_peek(r) == '-')
            r->i++;
        if (!r_isdigit(r_peek(r)))
            return 0;
        while (r_isdigit(r_peek(r)))
            r->i++;
    }
    return 1;
}

static int r_value(ref *r);

static int r_object(ref *r)
{
    r->i++;
    r_ws(r);
    if (r_peek(r) == '}') {
        r->i++;
        return 1;
    }
    for (;;) {
        r_ws(r);
        if (r_peek(r) != '"' || !r_string(r))
            return 0;
        r_ws(r);
        if (r_peek(r) != ':')
            return 0;
        r->i++;
        if (!r_value(r))
            return 0;
        r_ws(r);
        if (r_peek(r) == ',') {
            r->i++;
        } else if (r_peek(r) == '}') {
            r->i++;
            return 1;
        } else {
            return 0;
        }
    }
}

static int r_array(ref *r)
{
    r->i++;
    r_ws(r);
    if (r_peek(r) == ']') {
        r->i++;
        return 1;
    }
    for (;;) {
        if (!r_value(r))
            return 0;
        r_ws(r);
        if (r_peek(r) == ',') {
            r->i++;
        } else if (r_peek(r) == ']') {
            r->i++;
            return 1;
        } else {
            return 0;
        }
    }
}

static int r_value(ref *r)
{
    int c, ok;

    r_ws(r);
    c = r_peek(r);
    switch (c) {
    case '{': case '[':
        if (++r->depth > REF_MAX_DEPTH) {
            r->too_deep = 1;
            return 0;
        }
        ok = c == '{' ? r_object(r) : r_array(r);
        r->depth--;
        return ok;
    case '"': return r_string(r);
    case 't': return r_literal(r, "true");
    case 'f': return r_literal(r, "false");
    case 'n': return r_literal(r, "null");
    default: return c == '-' || r_isdigit(c) ? r_number(r) : 0;
    }
}

/* Offset of the lead byte of the first ill-formed sequence, or SIZE_MAX. Decodes
 * fully and then checks the value, unlike the library's table of byte ranges. */
static size_t ref_utf8(const u8 *s, size_t n)
{
    size_t i = 0, len, k;
    uint32_t cp, min;

    while (i < n) {
        u8 b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2; cp = b & 0x1Fu; min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3; cp = b & 0x0Fu; min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4; cp = b & 0x07u; min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return i;
        i += len;
    }
    return SIZE_MAX;
}

/* Returns the error class (or -1 if too deep to judge) and the error offset: the
 * first of the syntax error and the first ill-formed UTF-8 sequence. */
static int ref_check(const u8 *s, size_t n, size_t *off)
{
    ref r = { s, n, 0, 0, 0 };
    size_t syn = SIZE_MAX, u8err;

    if (!r_value(&r)) {
        syn = r.i;
    } else {
        r_ws(&r);
        if (r.i != n)
            syn = r.i;
    }
    if (r.too_deep)
        return -1;
    u8err = ref_utf8(s, n);
    if (u8err != SIZE_MAX && u8err <= syn) {
        *off = u8err;
        return PB__JSON_EUTF8;
    }
    *off = syn == SIZE_MAX ? 0 : syn;
    return syn == SIZE_MAX ? 0 : PB__JSON_ESYNTAX;
}

/* Line/column by walking code points (the prefix before an error is valid UTF-8). */
static void ref_locate(const u8 *s, size_t n, size_t off, size_t *line, size_t *col)
{
    size_t i = 0, ln = 1, cl = 1;

    while (i < off) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            ln++; cl = 1; i += 2;
        } else if (s[i] == '\n' || s[i] == '\r') {
            ln++; cl = 1; i++;
        } else {
            cl++;
            i += s[i] < 0x80 ? 1 : s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
        }
    }
    *line = ln;
    *col = cl;
}

/* ---- random documents --------------------------------------------------- */

static uint64_t g_rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t bound)
{
    /* xorshift64*: deterministic and good enough for fuzzing */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)(((g_rng * 0x2545f4914f6cdd1dull) >> 32) % bound);
}

typedef struct buf {
    u8 d[4096];
    size_t n;
} buf;

static void put(buf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k <= sizeof b->d) {
        memcpy(b->d + b->n, s, k);
        b->n += k;
    }
}

static void putc_(buf *b, u8 c)
{
    if (b->n < sizeof b->d)
        b->d[b->n++] = c;
}

static void put_utf8(buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        putc_(b, (u8)cp);
    } else if (cp < 0x800) {
        putc_(b, (u8)(0xC0 | (cp >> 6)));
        putc_(b, (u8)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        putc_(b, (u8)(0xE0 | (cp >> 12)));
        putc_(b, (u8)(0x80 | ((cp >> 6) & 0x3F)));
        putc_(b, (u8)(0x80 | (cp & 0x3F)));
    } else {
        putc_(b, (u8)(0xF0 | (cp >> 18)));
        putc_(b, (u8)(0x80 | ((cp >> 12) & 0x3F)));
        putc_(b, (u8)(0x80 | ((cp >> 6) & 0x3F)));
        putc_(b, (u8)(0x80 | (cp & 0x3F)));
    }
}

static void gen_ws(buf *b)
{
    static const char ws[] = " \t\n\r";
    uint32_t k = rnd(4) == 0 ? rnd(4) : 0;
    while (k--)
        putc_(b, (u8)ws[rnd(4)]);
}

static void gen_digits(buf *b, uint32_t max)
{
    uint32_t k = 1 + rnd(max);
    while (k--)
        putc_(b, (u8)('0' + rnd(10)));
}

static void gen_number(buf *b)
{
    if (rnd(3) == 0)
        putc_(b, '-');
    if (rnd(3) == 0) {
        putc_(b, '0');
    } else {
        putc_(b, (u8)('1' + rnd(9)));
        if (rnd(2))
            gen_digits(b, 6);
    }
    if (rnd(3) == 0) {
        putc_(b, '.');
        gen_digits(b, 5);
    }
    if (rnd(4) == 0) {
        putc_(b, rnd(2) ? 'e' : 'E');
        if (rnd(2))
            putc_(b, rnd(2) ? '+' : '-');
        gen_digits(b, 3);
    }
}

static void gen_string(buf *b)
{
    static const char esc[] = "\"\\/bfnrt";
    static const char hex[] = "0123456789abcdefABCDEF";
    uint32_t k = rnd(12), j;
    char u[8];

    putc_(b, '"');
    while (k--) {
        switch (rnd(8)) {
        case 0:
            putc_(b, '\\');
            putc_(b, (u8)esc[rnd(8)]);
            break;
        case 1:
            if (rnd(2)) {
                snprintf(u, sizeof u, "\\u%c%c", "dD"[rnd(2)], "89abAB"[rnd(6)]);
                put(b, u);
                for (j = 0; j < 2; j++)
                    putc_(b, (u8)hex[rnd(22)]);
            } else {
                put(b, "\\u");
                for (j = 0; j < 4; j++)
                    putc_(b, (u8)hex[rnd(22)]);
            }
            break;
        case 2: put_utf8(b, 0x80 + rnd(0x780)); break;
        case 3: {
            uint32_t cp = 0x800 + rnd(0x10000 - 0x800);
            put_utf8(b, cp >= 0xD800 && cp <= 0xDFFF ? cp + 0x800 : cp);
            break;
        }
        case 4: put_utf8(b, 0x10000 + rnd(0x100000)); break;
        case 5: put(b, &"abcdefgh"[rnd(8)]); break;
        default: putc_(b, (u8)(0x20 + rnd(0x60))); if (b->d[b->n - 1] == '"' || b->d[b->n - 1] == '\\') b->d[b->n - 1] = 'x'; break;
        }
    }
    putc_(b, '"');
}

static void gen_value(buf *b, int depth)
{
    uint32_t k, t = rnd(depth < 6 ? 8 : 6);

    gen_ws(b);
    switch (t) {
    case 0: put(b, "true"); break;
    case 1: put(b, "false"); break;
    case 2: put(b, "null"); break;
    case 3: case 4: gen_number(b); break;
    case 5: gen_string(b); break;
    case 6:
        putc_(b, '[');
        gen_ws(b);
        for (k = rnd(5); k > 0; k--) {
            gen_value(b, depth + 1);
            if (k > 1)
                putc_(b, ',');
        }
        putc_(b, ']');
        break;
    default:
        putc_(b, '{');
        gen_ws(b);
        for (k = rnd(5); k > 0; k--) {
            gen_ws(b);
            gen_string(b);
            gen_ws(b);
            putc_(b, ':');
            gen_value(b, depth + 1);
            if (k > 1)
                putc_(b, ',');
        }
        putc_(b, '}');
        break;
    }
    gen_ws(b);
}

static const u8 interesting[] =
    "{}[]:,\"\\ \t\n\r-+.0123456789eEtrufalsnxX/'"
    "\x00\x01\x1f\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe2\xed\xee\xef"
    "\xf0\xf4\xf5\xf8\xfe\xff";

static u8 pick_interesting(void)
{
    return interesting[rnd((uint32_t)sizeof interesting - 1)];
}

static void mutate(buf *b)
{
    size_t at = b->n ? rnd((uint32_t)b->n) : 0, len, from;
    static const char *const seqs[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbb\xbf", "\xc0\x80",
        "\xe0\x80\x80", "\xed\xa0\x80", "\xed\x9f\xbf", "\xf4\x90\x80\x80",
        "\xf4\x8f\xbf\xbf", "\xe2\x82", "\xf0\x9f", "\\u", "\\ud800", "\\", "\"",
        "0", "-", "1e", "true", "\r\n", "[", "]", "{", "}", ",",
    };

    switch (rnd(7)) {
    case 0:
        if (b->n)
            b->d[at] = pick_interesting();
        break;
    case 1:
        if (b->n < sizeof b->d) {
            memmove(b->d + at + 1, b->d + at, b->n - at);
            b->d[at] = pick_interesting();
            b->n++;
        }
        break;
    case 2:
        if (b->n) {
            memmove(b->d + at, b->d + at + 1, b->n - at - 1);
            b->n--;
        }
        break;
    case 3:
        b->n = at;
        break;
    case 4: { /* insert a (possibly ill-formed) multi-byte sequence or token */
        const char *q = seqs[rnd((uint32_t)(sizeof seqs / sizeof *seqs))];
        len = strlen(q);
        if (b->n + len <= sizeof b->d) {
            memmove(b->d + at + len, b->d + at, b->n - at);
            memcpy(b->d + at, q, len);
            b->n += len;
        }
        break;
    }
    case 5: /* duplicate a slice */
        if (b->n) {
            from = rnd((uint32_t)b->n);
            len = rnd((uint32_t)(b->n - from)) + 1;
            if (b->n + len <= sizeof b->d) {
                memmove(b->d + at + len, b->d + at, b->n - at);
                memmove(b->d + at, b->d + (from < at ? from : from + len), len);
                b->n += len;
            }
        }
        break;
    default: /* flip one bit */
        if (b->n)
            b->d[at] ^= (u8)(1u << rnd(8));
        break;
    }
}

static unsigned long g_diff_fail_lines;

static void compare_one(int line, const buf *b, unsigned long counts[4])
{
    pb__json_error e;
    size_t roff = 0, rl, rc_;
    int want = ref_check(b->d, b->n, &roff);
    int got;
    char shown[200];

    if (want < 0)
        return;
    got = check_copy(b->d, b->n, &e);
    counts[got >= 0 && got < 4 ? got : 3]++;
    if (want != 0)
        ref_locate(b->d, b->n, roff, &rl, &rc_);
    if (got == want && (want == 0 ||
                        (e.offset == roff && e.line == rl && e.column == rc_ &&
                         message_well_formed(e.message)))) {
        g_pass++;
        return;
    }
    if (g_diff_fail_lines++ < 20) {
        show((const char *)b->d, b->n, shown, sizeof shown);
        FAILF(line, "differential: \"%s\": reference %s at %zu, got %s at %zu (%zu:%zu) \"%s\"",
              shown, code_name(want), roff, code_name(got), e.offset, e.line, e.column,
              e.message);
    } else {
        g_fail++;
    }
}

static void test_differential(void)
{
    unsigned long counts[4] = { 0, 0, 0, 0 };
    buf b;
    int i, m;

    for (i = 0; i < 300000; i++) {
        b.n = 0;
        gen_value(&b, 0);
        if (i % 4 != 0)
            for (m = (int)rnd(3) + 1; m > 0; m--)
                mutate(&b);
        compare_one(__LINE__, &b, counts);
    }
    /* short strings over the interesting alphabet hit the error paths hard */
    for (i = 0; i < 100000; i++) {
        b.n = rnd(12);
        for (m = 0; m < (int)b.n; m++)
            b.d[m] = pick_interesting();
        compare_one(__LINE__, &b, counts);
    }
    /* the generator must produce a useful mix of outcomes */
    CHECK(counts[0] > 60000);
    CHECK(counts[PB__JSON_ESYNTAX] > 60000);
    CHECK(counts[PB__JSON_EUTF8] > 20000);
}

int main(void)
{
    test_valid();
    test_syntax_errors();
    test_utf8_errors();
    test_blocks();
    test_api();
    test_deep();
    test_differential();
    printf("%lu passed, %lu failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
