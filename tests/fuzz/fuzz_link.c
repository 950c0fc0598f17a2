/* Random-frame fuzz driver for the device link, built with ASan/UBSan (tests/fuzz/run_fuzz.py).
 * Each iteration feeds one burst (random bytes, valid frames, bit-flipped, truncated, oversized,
 * length-lying or concatenated frames), checks what was delivered, then probes that a clean
 * frame is accepted. Usage: fuzz_link_asan ITERATIONS SEED */
#include "fuzz_common.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: fast, seedable, good enough to pick fuzz cases. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static uint32_t below(uint32_t n) { return n ? rnd() % n : 0u; }

static uint8_t burst[16384];
static uint8_t payload[LINK_MAX_PAYLOAD + 2048];

static uint16_t random_payload(uint32_t max)
{
    uint16_t len = (uint16_t)(below(4u) == 0u ? below(max + 1u) : below(64u));
    uint32_t zero_rate = below(4u) * 25u; /* percent */
    uint16_t i;
    if (len > max) {
        len = (uint16_t)max;
    }
    for (i = 0; i < len; i++) {
        payload[i] = (below(100u) < zero_rate) ? 0u : (uint8_t)rnd();
    }
    return len;
}

static uint8_t random_cmd(void)
{
    uint32_t k = below(8u);
    if (k < 5u) {
        return (uint8_t)(1u + below(PROTO_CMD_MAX)); /* a request */
    }
    return (uint8_t)rnd(); /* anything, including replies, NAK, EVENT, 0 */
}

/* One valid frame appended at burst[pos]; returns the new end. */
static uint32_t add_valid(uint32_t pos, uint8_t *cmd, uint8_t *seq, uint16_t *len)
{
    *cmd = random_cmd();
    *seq = (uint8_t)rnd();
    *len = random_payload(LINK_MAX_PAYLOAD);
    return pos + fz_make_frame(*cmd, *seq, (uint8_t)below(2u), payload, *len, &burst[pos], sizeof burst - pos);
}

int main(int argc, char **argv)
{
    static fz_t f;
    uint64_t iters = (argc > 1) ? strtoull(argv[1], NULL, 10) : 100000u;
    uint64_t seed = (argc > 2) ? strtoull(argv[2], NULL, 10) : 1u;
    uint64_t it, bytes = 0, kinds[8] = {0};
    uint32_t probe = 0;
    int trace = getenv("FUZZ_TRACE") != NULL; /* print each burst, to reproduce a failure */

    rng_state = seed * 0x9E3779B97F4A7C15ull + 1u;
    fz_init(&f);
    for (it = 0; it < iters; it++) {
        uint32_t kind = below(8u), n = 0, parts, p;
        uint8_t cmd, seq;
        uint16_t len;
        kinds[kind]++;
        switch (kind) {
        case 0: /* random bytes, varying zero density */
            n = below(600u);
            for (p = 0; p < n; p++) {
                burst[p] = (below(10u) == 0u) ? 0u : (uint8_t)rnd();
            }
            break;
        case 1: { /* one isolated valid frame: delivered exactly when it is a new request */
            const link_t *l = &f.link;
            uint32_t got;
            int expect;
            burst[0] = 0u;
            n = add_valid(1u, &cmd, &seq, &len);
            {
                static uint8_t body[LINK_MAX_FRAME];
                int32_t m = cobs_decode(&burst[1], n - 2u, body, sizeof body);
                uint32_t fcrc;
                FZ_CHECK(m > 0, "generator made a bad frame");
                fcrc = proto_get_u32(&body[m - 4]);
                expect = cmd >= 1u && cmd <= PROTO_CMD_MAX && cmd != CMD_HELLO &&
                         !(l->have_last && l->last_seq == seq && l->last_crc == fcrc);
            }
            got = fz_feed(&f, burst, n);
            bytes += n;
            FZ_CHECK(got == (uint32_t)expect, "valid frame delivered wrongly");
            if (expect) {
                FZ_CHECK(f.last_cmd == cmd && f.last_seq == seq && f.last_len == len, "frame garbled");
                FZ_CHECK(memcmp(f.link.rx.payload, payload, len) == 0, "payload garbled");
            }
            n = 0;
            break;
        }
        case 2: { /* valid frame with 1..4 bit flips */
            uint32_t flips = 1u + below(4u), k;
            n = add_valid(0u, &cmd, &seq, &len);
            for (k = 0; k < flips; k++) {
                burst[below(n)] ^= (uint8_t)(1u << below(8u));
            }
            break;
        }
        case 3: /* truncated valid frame: no delimiter, the probe's leading 0x00 ends it */
            n = add_valid(0u, &cmd, &seq, &len);
            n = below(n);
            break;
        case 4: /* oversized: a long nonzero run, or a header announcing > LINK_MAX_PAYLOAD */
            if (below(2u)) {
                n = 1000u + below(8000u);
                for (p = 0; p < n; p++) {
                    burst[p] = (uint8_t)(1u + below(255u));
                }
            } else {
                static uint8_t body[LINK_MAX_PAYLOAD + 2048];
                uint32_t blen = LINK_MAX_PAYLOAD + 1u + below(1500u);
                int32_t m;
                body[0] = CMD_PING;
                body[1] = (uint8_t)rnd();
                body[2] = 0u;
                proto_put_u16(&body[3], (uint16_t)(below(2u) ? blen : 0xFFFFu));
                for (p = 5; p < blen + 5u; p++) {
                    body[p] = (uint8_t)rnd();
                }
                proto_put_u32(&body[blen + 5u], mct_crc32(0u, body, blen + 5u));
                m = cobs_encode(body, blen + 9u, burst, sizeof burst - 1u);
                FZ_CHECK(m > 0, "oversize frame does not fit");
                burst[m] = 0u;
                n = (uint32_t)m + 1u;
            }
            break;
        case 5: { /* header length that lies, with a correct CRC */
            static uint8_t body[LINK_MAX_FRAME + 8];
            int32_t m;
            uint16_t real = random_payload(LINK_MAX_PAYLOAD - 8u);
            uint16_t claim = (uint16_t)(real + 1u + below(8u));
            if (below(2u) && real > 0u) {
                claim = (uint16_t)below(real);
            }
            body[0] = (uint8_t)(1u + below(PROTO_CMD_MAX));
            body[1] = (uint8_t)rnd();
            body[2] = 0u;
            proto_put_u16(&body[3], claim);
            memcpy(&body[5], payload, real);
            proto_put_u32(&body[5u + real], mct_crc32(0u, body, 5u + real));
            m = cobs_encode(body, 9u + real, burst, sizeof burst - 1u);
            FZ_CHECK(m > 0, "frame does not fit");
            burst[m] = 0u;
            n = (uint32_t)m + 1u;
            break;
        }
        case 6: /* several frames and garbage back to back */
            parts = 2u + below(5u);
            for (p = 0; p < parts && n + LINK_MAX_WIRE + 64u < sizeof burst; p++) {
                if (below(3u) == 0u) {
                    uint32_t g = below(64u), q;
                    for (q = 0; q < g; q++) {
                        burst[n++] = (uint8_t)rnd();
                    }
                } else {
                    uint32_t start = n;
                    n = add_valid(n, &cmd, &seq, &len);
                    if (below(4u) == 0u) {
                        burst[start + below(n - start)] ^= (uint8_t)(1u << below(8u));
                    }
                }
            }
            break;
        default: /* COBS-valid bodies of random bytes: exercises header/CRC checks, not COBS */
            {
                uint16_t blen = random_payload(64u);
                int32_t m = cobs_encode(payload, blen, burst, sizeof burst - 1u);
                FZ_CHECK(m > 0, "does not fit");
                burst[m] = 0u;
                n = (uint32_t)m + 1u;
            }
            break;
        }
        if (trace) {
            uint32_t q;
            fprintf(stderr, "iteration %llu kind %u, %u bytes:", (unsigned long long)it, (unsigned)kind, (unsigned)n);
            for (q = 0; q < n && q < 48u; q++) {
                fprintf(stderr, " %02x", burst[q]);
            }
            fprintf(stderr, "%s\n", n > 48u ? " ..." : "");
        }
        if (n > 0u) {
            fz_feed(&f, burst, n);
            bytes += n;
        }
        fz_probe(&f, probe++);
        bytes += 30u;
    }
    fz_validate_output(&f);
    printf("iterations=%llu bytes=%llu probes_ok=%u delivered=%llu dups=%u nak_crc=%u nak_bad=%u ignored=%u "
           "out_frames=%llu\n",
           (unsigned long long)iters, (unsigned long long)bytes, (unsigned)probe,
           (unsigned long long)f.delivered, (unsigned)f.link.counters.rx_dups,
           (unsigned)f.link.counters.rx_bad_crc, (unsigned)f.link.counters.rx_bad,
           (unsigned)f.link.counters.rx_ignored, (unsigned long long)f.out_frames);
    printf("kinds=%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", (unsigned long long)kinds[0],
           (unsigned long long)kinds[1], (unsigned long long)kinds[2], (unsigned long long)kinds[3],
           (unsigned long long)kinds[4], (unsigned long long)kinds[5], (unsigned long long)kinds[6],
           (unsigned long long)kinds[7]);
    return 0;
}
