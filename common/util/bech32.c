/*
 * bech32.c - see bech32.h. Written from BIP 173; the 5-bit regrouping is
 * strict on decode (leftover bits must be fewer than 5 and all zero), as
 * age's own decoder is, so each key has exactly one spelling per case.
 */
#include "bech32.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, unsigned v)
{
    static const uint32_t GEN[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t top = chk >> 25;

    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= GEN[i];
    return chk;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The checksum state after the expanded HRP (always taken in lowercase). */
static uint32_t hrp_polymod(const char *hrp, size_t len)
{
    uint32_t chk = 1;

    for (size_t i = 0; i < len; i++)
        chk = polymod_step(chk, (unsigned char)lower(hrp[i]) >> 5);
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < len; i++)
        chk = polymod_step(chk, (unsigned char)lower(hrp[i]) & 31);
    return chk;
}

static int check_hrp(const char *hrp, size_t len, bool *is_upper, struct err *e)
{
    bool has_lower = false, has_upper = false;

    if (len < 1 || len > 83)
        return err_set(e, ERR_USAGE, "invalid human-readable part length");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)hrp[i];
        if (c < 33 || c > 126)
            return err_set(e, ERR_USAGE, "invalid character in human-readable part");
        has_lower |= c >= 'a' && c <= 'z';
        has_upper |= c >= 'A' && c <= 'Z';
    }
    if (has_lower && has_upper)
        return err_set(e, ERR_USAGE, "mixed case");
    *is_upper = !has_lower;
    return 0;
}

int bech32_encode(char *out, size_t out_cap, const char *hrp, const void *data, size_t data_len,
                  struct err *e)
{
    const unsigned char *p = data;
    size_t hrp_len = strlen(hrp), n = 0;
    uint32_t chk, acc = 0;
    unsigned bits = 0;
    bool up;

    if (check_hrp(hrp, hrp_len, &up, e) < 0)
        return -1;
    if (out_cap < BECH32_ENCODED_LEN(hrp_len, data_len) + 1)
        return err_set(e, ERR_INTERNAL, "bech32 output buffer too small");
    chk = hrp_polymod(hrp, hrp_len);
    for (size_t i = 0; i < hrp_len; i++)
        out[n++] = up ? upper(hrp[i]) : lower(hrp[i]);
    out[n++] = '1';
    for (size_t i = 0; i < data_len; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            unsigned v = (acc >> bits) & 31;
            chk = polymod_step(chk, v);
            out[n++] = CHARSET[v];
        }
    }
    if (bits > 0) {
        unsigned v = (acc << (5 - bits)) & 31;
        chk = polymod_step(chk, v);
        out[n++] = CHARSET[v];
    }
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk, 0);
    chk ^= 1;
    for (int i = 0; i < 6; i++)
        out[n++] = CHARSET[(chk >> (5 * (5 - i))) & 31];
    if (up)
        for (size_t i = hrp_len; i < n; i++)
            out[i] = upper(out[i]);
    out[n] = '\0';
    return 0;
}

int bech32_decode(const char *s, char *hrp, size_t hrp_cap, void *data, size_t data_cap,
                  size_t *data_len, struct err *e)
{
    unsigned char *p = data;
    const char *sep = strrchr(s, '1');
    size_t len = strlen(s), hrp_len, n = 0;
    uint32_t chk, acc = 0;
    unsigned bits = 0;
    bool has_lower = false, has_upper = false, up;

    *data_len = 0;
    for (size_t i = 0; i < len; i++) {
        has_lower |= s[i] >= 'a' && s[i] <= 'z';
        has_upper |= s[i] >= 'A' && s[i] <= 'Z';
    }
    if (has_lower && has_upper)
        return err_set(e, ERR_USAGE, "mixed case");
    if (!sep)
        return err_set(e, ERR_USAGE, "no separator");
    hrp_len = (size_t)(sep - s);
    if (check_hrp(s, hrp_len, &up, e) < 0)
        return -1;
    if (len - hrp_len - 1 < 6)
        return err_set(e, ERR_USAGE, "too short");
    if (hrp_len + 1 > hrp_cap)
        return err_set(e, ERR_USAGE, "human-readable part too long");
    memcpy(hrp, s, hrp_len);
    hrp[hrp_len] = '\0';

    chk = hrp_polymod(s, hrp_len);
    for (size_t i = hrp_len + 1; i < len; i++) {
        const char *c = memchr(CHARSET, lower(s[i]), sizeof(CHARSET) - 1);
        if (!c || s[i] == '\0')
            return err_set(e, ERR_USAGE, "invalid character");
        unsigned v = (unsigned)(c - CHARSET);
        chk = polymod_step(chk, v);
        if (i >= len - 6)
            continue; /* checksum characters carry no data */
        acc = ((acc << 5) | v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (n == data_cap)
                return err_set(e, ERR_USAGE, "too long");
            p[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (chk != 1)
        return err_set(e, ERR_USAGE, "invalid checksum");
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
        return err_set(e, ERR_USAGE, "invalid padding");
    *data_len = n;
    return 0;
}
