/* util.c - clock, random numbers, deterministic sentences and target lines shared by the
 * benchmarks in bench/perf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perf.h"

double perf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void perf_rng_seed(perf_rng *r, uint64_t seed)
{
    r->s = seed ? seed * 0x9E3779B97F4A7C15ull : 0x2545F4914F6CDD1Dull;
}

uint64_t perf_rng_next(perf_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double perf_rng_unit(perf_rng *r)
{
    return (double)(perf_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

float perf_rng_gauss(perf_rng *r)
{
    double u = perf_rng_unit(r), v = perf_rng_unit(r);
    if (u < 1e-300)
        u = 1e-300;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* Everyday words of chat messages: most are in the built-in model's vocabulary, so the
 * vectors are real sentence vectors and keyword queries hit real postings. */
static const char *const vocab[] = {
    "coffee", "morning", "meeting", "project", "deadline", "weekend", "travel", "flight",
    "hotel", "dinner", "restaurant", "birthday", "sister", "brother", "mother", "father",
    "doctor", "appointment", "garden", "flowers", "running", "marathon", "training", "gym",
    "budget", "invoice", "client", "contract", "holiday", "beach", "mountain", "hiking",
    "camera", "photos", "music", "concert", "guitar", "piano", "lesson", "school",
    "teacher", "homework", "exam", "university", "library", "book", "novel", "author",
    "movie", "cinema", "series", "episode", "recipe", "cooking", "pasta", "pizza", "salad",
    "vegetarian", "allergy", "peanuts", "medicine", "health", "sleep", "tired", "happy",
    "excited", "worried", "weather", "rain", "snow", "summer", "winter", "spring", "autumn",
    "car", "bicycle", "train", "bus", "office", "remote", "laptop", "phone", "software",
    "database", "server", "bug", "release", "team", "manager", "salary", "promotion",
    "interview", "apartment", "rent", "kitchen", "furniture", "painting", "dog", "cat",
    "puppy", "veterinarian", "wedding", "anniversary", "gift", "shopping", "market",
    "groceries", "cheese", "wine", "tea", "chocolate", "breakfast", "lunch", "friend",
    "party", "game", "football", "tennis", "swimming", "yoga", "language", "spanish",
    "french", "japanese", "museum", "history", "science", "garden", "tomatoes", "plants",
    "insurance", "bank", "savings", "tax", "passport", "visa", "airport", "luggage",
    "neighbour", "noise", "moving", "house", "roof", "repair", "plumber", "electricity",
    "internet", "password", "account", "email", "calendar", "reminder", "habit", "goal",
    "diet", "weight", "vitamins", "headache", "dentist", "glasses", "shoes", "jacket",
    "birthday", "cake", "candles", "children", "daughter", "son", "grandmother", "uncle",
    "podcast", "news", "election", "climate", "ocean", "island", "boat", "fishing",
    "camping", "tent", "forest", "river", "lake", "city", "village", "festival", "theatre",
};

/* One topic word per user family: makes a user's memories share a theme. */
static const char *const topics[] = {
    "astronomy", "baking", "chess", "cycling", "diving", "embroidery", "fencing",
    "gardening", "hockey", "investing", "jazz", "kayaking", "knitting", "opera", "poetry",
    "pottery", "robotics", "sailing", "skiing", "surfing", "violin", "woodworking",
    "photography", "climbing", "archery", "ballet", "carpentry", "drumming", "origami",
    "painting", "rowing", "sculpture",
};

const char *perf_word(perf_rng *r)
{
    return vocab[perf_rng_next(r) % (sizeof vocab / sizeof vocab[0])];
}

const char *perf_topic_word(int topic)
{
    return topics[(unsigned)topic % (sizeof topics / sizeof topics[0])];
}

size_t perf_sentence(perf_rng *r, int topic, int n_words, char *out, size_t cap)
{
    size_t len = 0;
    int i;
    if (!cap)
        return 0;
    out[0] = '\0';
    for (i = 0; i < n_words; i++) {
        const char *w = (i % 5 == 2 && topic >= 0) ? perf_topic_word(topic) : perf_word(r);
        size_t wl = strlen(w);
        if (len + wl + 2 >= cap)
            break;
        if (len)
            out[len++] = ' ';
        memcpy(out + len, w, wl);
        len += wl;
    }
    out[len] = '\0';
    return len;
}

int perf_target(const char *name, double value, double need, int higher_is_better,
                const char *detail)
{
    int pass = higher_is_better ? value >= need : value <= need;
    printf("%s | %s | %.3g | %s %g | %s\n", pass ? "PASS" : "FAIL", name, value,
           higher_is_better ? ">=" : "<=", need, detail ? detail : "");
    fflush(stdout);
    return pass;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double perf_percentile(double *v, size_t n, double pct)
{
    size_t i;
    if (!n)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}
