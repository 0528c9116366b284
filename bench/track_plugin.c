/* SPDX-License-Identifier: MIT */
/* track_plugin.c - the seed workload as a WebAssembly plugin (Extism's ABI, wasi-libc): the
 * total length of the track in the GeoJSON input, in 140 m units, as examples/track_length.js
 * computes it, parsing the JSON itself. make bench runs it against the script (bench.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))
IMPORT("input_length") uint64_t input_length(void);
IMPORT("input_load_u64") uint64_t input_load_u64(uint64_t);
IMPORT("input_load_u8") uint32_t input_load_u8(uint64_t);
IMPORT("alloc") uint64_t alloc(uint64_t);
IMPORT("store_u8") void store_u8(uint64_t, uint32_t);
IMPORT("output_set") void output_set(uint64_t, uint64_t);

static double arc(double lat0, double lon0, double lat1, double lon1)
{
    if (lat0 == lat1 && lon0 == lon1)
        return 0;
    const double r = M_PI / 180;
    double c = sin(lat0 * r) * sin(lat1 * r) + cos(lat0 * r) * cos(lat1 * r) * cos((lon0 - lon1) * r);
    if (c > 1)
        c = 1;
    return acos(c) / r * 60 * 1853.159;
}

/* a trivial call: nothing in, nothing out */
EXPORT("nop") int nop(void) { return 0; }

EXPORT("total") int total(void)
{
    uint64_t n = input_length();
    char *s = malloc(n + 1);
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = input_load_u64(i);
        memcpy(s + i, &w, 8);
    }
    for (; i < n; i++)
        s[i] = (char)input_load_u8(i);
    s[n] = 0;
    double sum = 0, plat = 0, plon = 0;
    int have = 0;
    for (char *p = s; (p = strstr(p, "\"coordinates\"")); ) {
        p = strchr(p, '[');
        if (!p)
            break;
        char *e;
        double lon = strtod(p + 1, &e);
        e = strchr(e, ',');
        double lat = strtod(e + 1, &p);
        if (have)
            sum += arc(lat, lon, plat, plon) / 140;
        plat = lat, plon = lon, have = 1;
    }
    char out[32];
    int k = snprintf(out, sizeof out, "%.17g", sum);
    uint64_t b = alloc((uint64_t)k);
    for (int j = 0; j < k; j++)
        store_u8(b + j, (uint8_t)out[j]);
    output_set(b, (uint64_t)k);
    free(s);
    return 0;
}
