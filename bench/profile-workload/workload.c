/* CPU-bound workload for the profiler benchmarks (bench/profile-*.sh).
 *
 * Runs for SECONDS, calling six functions whose shares of the CPU time are
 * fixed by how much work each is given per round (about 40, 25, 15, 10, 6 and
 * 4 percent), so that a profiler's top functions by self time have a known
 * answer. Prints the rounds done, the seconds it ran and the CPU seconds it
 * got on stdout: the throughput the cost benchmark compares with and without
 * the profiler, per second and per CPU second (the latter blind to other
 * processes taking CPU time from it).
 *
 * Usage: workload SECONDS
 * Build: cc -O2 -g -fno-omit-frame-pointer -o workload workload.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Work units per round: a unit is about 2 ns, a round about half a millisecond. */
#define UNITS 200000

/* The result of every function feeds the next, so nothing is optimised out. */
static volatile uint64_t sink;

/* One dependent multiply-xorshift chain of `n` steps: no memory traffic, and
 * the same cost per step in every function. */
#define CHAIN(x, n)                                                          \
    do {                                                                     \
        for (uint64_t i_ = 0; i_ < (n); i_++) {                              \
            (x) ^= (x) >> 29;                                                \
            (x) *= 0xbf58476d1ce4e5b9ULL;                                    \
            (x) += i_;                                                       \
        }                                                                    \
    } while (0)

__attribute__((noinline)) uint64_t hot_a_40(uint64_t x, uint64_t n) { CHAIN(x, n); return x; }
__attribute__((noinline)) uint64_t hot_b_25(uint64_t x, uint64_t n) { CHAIN(x, n); return x + 1; }
__attribute__((noinline)) uint64_t hot_c_15(uint64_t x, uint64_t n) { CHAIN(x, n); return x + 2; }
__attribute__((noinline)) uint64_t hot_d_10(uint64_t x, uint64_t n) { CHAIN(x, n); return x + 3; }
__attribute__((noinline)) uint64_t hot_e_6(uint64_t x, uint64_t n) { CHAIN(x, n); return x + 4; }
__attribute__((noinline)) uint64_t hot_f_4(uint64_t x, uint64_t n) { CHAIN(x, n); return x + 5; }

/* One round: every function with its share of UNITS. */
__attribute__((noinline)) uint64_t round_of_work(uint64_t x)
{
    x = hot_a_40(x, UNITS * 40 / 100);
    x = hot_b_25(x, UNITS * 25 / 100);
    x = hot_c_15(x, UNITS * 15 / 100);
    x = hot_d_10(x, UNITS * 10 / 100);
    x = hot_e_6(x, UNITS * 6 / 100);
    x = hot_f_4(x, UNITS * 4 / 100);
    return x;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2 || atof(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    double start = now(CLOCK_MONOTONIC), t = start;
    uint64_t x = 0x9e3779b97f4a7c15ULL, rounds = 0;
    while (t - start < seconds) {
        x = round_of_work(x);
        rounds++;
        t = now(CLOCK_MONOTONIC);
    }
    sink = x;
    printf("%llu %.6f %.6f\n", (unsigned long long)rounds, t - start,
           now(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}
