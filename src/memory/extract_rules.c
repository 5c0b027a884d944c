/* extract_rules.c - offline extraction of preferences and facts from what a user says, by
 * English rules: a clause that starts with "I live in", "I'm allergic to", "I don't like",
 * "my favorite X is", "my sister lives in", ... gives one statement with a subject key
 * ("location", "taste:coffee", "family:sister:lives"). A newer statement with the same key
 * supersedes the older one (extract.c). Conservative on purpose: a missed fact costs little,
 * a wrong one is shown to the model as true. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "memory_int.h"

#define MAX_CLAUSE 600
#define MAX_OBJ 80

enum { T_PREF = MN_KIND_PREFERENCE, T_FACT = MN_KIND_FACT };

/* How the captured object ends: at punctuation always; at "and"/"but"/... unless LIST. */
enum { F_LIST = 1, F_NAME = 2, F_TIME = 4, F_NOPRON = 8, F_DIET = 16, F_PLACE = 32 };

typedef struct rule {
    const char *prefix; /* lower case, at a clause start */
    int kind;
    const char *subject; /* "location"; ending in ':' gets the object's key appended */
    const char *verb;    /* "lives in": the text is "<who> <verb> <object>" */
    int flags;
} rule;

static const rule rules[] = {
    /* where they live */
    {"i live in ", T_FACT, "location", "lives in", F_PLACE},
    {"i now live in ", T_FACT, "location", "lives in", F_PLACE},
    {"i currently live in ", T_FACT, "location", "lives in", F_PLACE},
    {"i'm living in ", T_FACT, "location", "lives in", F_PLACE},
    {"i am living in ", T_FACT, "location", "lives in", F_PLACE},
    {"i moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"i just moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"i recently moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"i've moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"i have moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"we moved to ", T_FACT, "location", "lives in", F_PLACE},
    {"i'm based in ", T_FACT, "location", "lives in", F_PLACE},
    {"i am based in ", T_FACT, "location", "lives in", F_PLACE},
    {"i'm from ", T_FACT, "hometown", "is from", F_PLACE},
    {"i am from ", T_FACT, "hometown", "is from", F_PLACE},
    {"i'm moving to ", T_FACT, "plan:move", "is moving to", F_PLACE},
    {"i am moving to ", T_FACT, "plan:move", "is moving to", F_PLACE},
    /* who they are */
    {"my name is ", T_FACT, "name", "is called", F_NAME},
    {"call me ", T_FACT, "name", "is called", F_NAME},
    {"i work as ", T_FACT, "job", "works as", 0},
    {"i'm working as ", T_FACT, "job", "works as", 0},
    {"i am working as ", T_FACT, "job", "works as", 0},
    {"my job is ", T_FACT, "job", "works as", 0},
    {"i work at ", T_FACT, "employer", "works at", F_PLACE},
    {"i work for ", T_FACT, "employer", "works for", F_PLACE},
    {"i'm working at ", T_FACT, "employer", "works at", F_PLACE},
    {"i just started working at ", T_FACT, "employer", "works at", F_PLACE},
    /* health and diet */
    {"i'm allergic to ", T_FACT, "allergy:", "is allergic to", F_LIST},
    {"i am allergic to ", T_FACT, "allergy:", "is allergic to", F_LIST},
    {"i have an allergy to ", T_FACT, "allergy:", "is allergic to", F_LIST},
    {"i'm ", T_PREF, "diet", "is", F_DIET},
    {"i am ", T_PREF, "diet", "is", F_DIET},
    {"i'm a ", T_PREF, "diet", "is", F_DIET},
    {"i am a ", T_PREF, "diet", "is", F_DIET},
    {"i became ", T_PREF, "diet", "is", F_DIET},
    {"i've become ", T_PREF, "diet", "is", F_DIET},
    {"i've gone ", T_PREF, "diet", "is", F_DIET},
    {"i went ", T_PREF, "diet", "is", F_DIET},
    {"i don't eat ", T_PREF, "taste:", "doesn't eat", F_LIST | F_NOPRON},
    {"i do not eat ", T_PREF, "taste:", "doesn't eat", F_LIST | F_NOPRON},
    {"i never eat ", T_PREF, "taste:", "doesn't eat", F_LIST | F_NOPRON},
    /* likes and dislikes */
    {"i like ", T_PREF, "taste:", "likes", F_NOPRON},
    {"i really like ", T_PREF, "taste:", "likes", F_NOPRON},
    {"i love ", T_PREF, "taste:", "loves", F_NOPRON},
    {"i really love ", T_PREF, "taste:", "loves", F_NOPRON},
    {"i absolutely love ", T_PREF, "taste:", "loves", F_NOPRON},
    {"i enjoy ", T_PREF, "taste:", "enjoys", F_NOPRON},
    {"i really enjoy ", T_PREF, "taste:", "enjoys", F_NOPRON},
    {"i adore ", T_PREF, "taste:", "loves", F_NOPRON},
    {"i prefer ", T_PREF, "taste:", "prefers", F_NOPRON},
    {"i'm a big fan of ", T_PREF, "taste:", "is a big fan of", F_NOPRON},
    {"i'm a fan of ", T_PREF, "taste:", "is a fan of", F_NOPRON},
    {"i'm into ", T_PREF, "taste:", "is into", F_NOPRON},
    {"i don't like ", T_PREF, "taste:", "doesn't like", F_NOPRON},
    {"i do not like ", T_PREF, "taste:", "doesn't like", F_NOPRON},
    {"i really don't like ", T_PREF, "taste:", "doesn't like", F_NOPRON},
    {"i don't really like ", T_PREF, "taste:", "doesn't like", F_NOPRON},
    {"i don't enjoy ", T_PREF, "taste:", "doesn't enjoy", F_NOPRON},
    {"i hate ", T_PREF, "taste:", "hates", F_NOPRON},
    {"i dislike ", T_PREF, "taste:", "dislikes", F_NOPRON},
    {"i can't stand ", T_PREF, "taste:", "can't stand", F_NOPRON},
    {"i'm not a fan of ", T_PREF, "taste:", "is not a fan of", F_NOPRON},
    {"i am not a fan of ", T_PREF, "taste:", "is not a fan of", F_NOPRON},
    {"i no longer like ", T_PREF, "taste:", "no longer likes", F_NOPRON},
    /* plans */
    {"i plan to ", T_FACT, "plan:", "plans to", 0},
    {"i'm planning to ", T_FACT, "plan:", "plans to", 0},
    {"i am planning to ", T_FACT, "plan:", "plans to", 0},
    {"i'm going to ", T_FACT, "plan:", "is going to", F_TIME},
    {"i am going to ", T_FACT, "plan:", "is going to", F_TIME},
    {"i'll ", T_FACT, "plan:", "will", F_TIME},
    {"i will ", T_FACT, "plan:", "will", F_TIME},
    {"i'm flying to ", T_FACT, "plan:", "is flying to", 0},
    {"i'm traveling to ", T_FACT, "plan:", "is traveling to", 0},
    {"i'm travelling to ", T_FACT, "plan:", "is travelling to", 0},
};

static const char *const diets[] = {"vegetarian", "vegan", "pescatarian", "pescetarian",
                                    "keto", "gluten-free", "gluten free", "lactose intolerant",
                                    "kosher", "halal", "dairy-free", "plant-based", NULL};

static const char *const family[] = {
    "wife", "husband", "partner", "sister", "brother", "mother", "mom", "mum", "father", "dad",
    "son", "daughter", "kids", "children", "girlfriend", "boyfriend", "fiance", "fiancee",
    "grandma", "grandmother", "grandpa", "grandfather", "aunt", "uncle", "cousin", "dog", "cat",
    "best friend", NULL};

static const char *const fam_verbs[] = {"lives in ", "works as ", "works at ", "is called ",
                                        "is named ", "name is ", "'s name is ", NULL};
static const char *const fam_keys[] = {"lives", "job", "employer", "name", "name", "name", "name"};

/* A place ends where the time or the company of the move begins: "Berlin last month". */
static const char *const place_enders[] = {" last ", " this ", " next ", " yesterday", " today",
                                           " ago", " with ", " for ", " a few ", " recently",
                                           " in 19", " in 20", " since ", " after ", " before ",
                                           " now", NULL};

/* The object must not be a bare pronoun or a filler ("I love it", "I like that"). */
static const char *const pron[] = {"it", "that", "this", "you", "them", "him", "her", "those",
                                   "these", "how", "what", "when", "where", "why", "so", "too",
                                   "the idea", "the way", "to think", "to say", "your", "yours",
                                   "a lot", "doing that", "hearing", "seeing", "when you", NULL};

static const char *const enders[] = {" and ", " but ", " because ", " since ", " so ",
                                     " which ", " who ", " though ", " although ", " when ",
                                     " while ", " if ", " as well", " too", " a lot",
                                     " very much", " so much", NULL};

static const char *const time_words[] = {"tomorrow", "tonight", "next ", "this weekend",
                                         "this week", "this month", "this summer",
                                         "this winter", "soon", "later today", " in january",
                                         " in february", " in march", " in april", " in may",
                                         " in june", " in july", " in august", " in september",
                                         " in october", " in november", " in december",
                                         " on monday", " on tuesday", " on wednesday",
                                         " on thursday", " on friday", " on saturday",
                                         " on sunday", NULL};

static const char *const fillers[] = {"yeah", "yes", "well", "oh", "so", "and", "but", "also",
                                      "actually", "honestly", "really", "now", "anyway", "lol",
                                      "haha", "wow", "hey", "hi", "um", "ok", "okay", "btw",
                                      "by the way", "plus", "personally", NULL};

static bool starts(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

static bool word_at(const char *s, const char *w)
{
    size_t n = strlen(w);
    return !strncmp(s, w, n) && !isalnum((unsigned char)s[n]);
}

static bool in_list(const char *s, size_t n, const char *const *list)
{
    size_t i;
    for (i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !strncmp(s, list[i], n))
            return true;
    return false;
}

/* Length of the object at s (lower-case copy), up to punctuation or, unless F_LIST, a
 * connecting word. */
static size_t object_len(const char *s, size_t max, int flags)
{
    size_t i, j;
    for (i = 0; i < max && s[i]; i++) {
        char c = s[i];
        if (c == ',' || c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == '(' ||
            c == ')' || c == '"' || (c == '-' && i > 0 && s[i - 1] == ' '))
            break;
        if (!(flags & F_LIST))
            for (j = 0; enders[j]; j++)
                if (starts(s + i, enders[j]))
                    return i;
        if (flags & F_LIST)
            for (j = 0; enders[j]; j++)
                if (strcmp(enders[j], " and ") && starts(s + i, enders[j]))
                    return i;
        if (flags & F_PLACE)
            for (j = 0; place_enders[j]; j++)
                if (starts(s + i, place_enders[j]))
                    return i;
    }
    while (i > 0 && s[i - 1] == ' ')
        i--;
    return i;
}

/* The object's key: lower case, leading articles and "to" dropped, spaces to '-'. */
static void object_key(const char *low, size_t n, char *out, size_t cap)
{
    static const char *const lead[] = {"to ", "the ", "a ", "an ", "my ", "some ", "eating ",
                                       "drinking ", "eat ", "drink ", NULL};
    size_t i, o = 0;
    bool again = true;
    while (again) {
        again = false;
        for (i = 0; lead[i]; i++)
            if (n > strlen(lead[i]) && starts(low, lead[i])) {
                low += strlen(lead[i]);
                n -= strlen(lead[i]);
                again = true;
            }
    }
    for (i = 0; i < n && o + 1 < cap; i++)
        out[o++] = low[i] == ' ' ? '-' : low[i];
    /* plurals and singulars of the same thing share a key: "dogs" / "dog" */
    if (o > 3 && out[o - 1] == 's' && out[o - 2] != 's')
        o--;
    out[o] = '\0';
}

typedef struct sink {
    mn__fact *out;
    size_t cap, n;
    const char *who;
} sink;

/* First-person words of an object and what they become once the statement is about the
 * user ("fertilize my tomato plants" -> "fertilize their tomato plants"). Two-word entries
 * first, so that "I am" becomes "they are", not "they am". */
static const char *const person[][2] = {
    {"i am", "they are"}, {"i was", "they were"}, {"i'm", "they're"}, {"i've", "they've"},
    {"i'd", "they'd"},    {"i'll", "they'll"},    {"myself", "themselves"},
    {"ourselves", "themselves"}, {"my", "their"}, {"mine", "theirs"}, {"me", "them"},
    {"our", "their"},     {"ours", "theirs"},     {"us", "them"},      {"we", "they"},
    {"i", "they"}};

/* obj[0..n) with first-person words in the third person, into out (always terminated). */
static void third_person(const char *obj, size_t n, char *out, size_t cap)
{
    size_t i = 0, o = 0, j, w;
    while (i < n && o + 1 < cap) {
        bool at_word = i == 0 || !isalnum((unsigned char)obj[i - 1]);
        for (j = 0; at_word && j < MN_ARRAY_LEN(person); j++) {
            w = strlen(person[j][0]);
            if (i + w <= n && !strncasecmp(obj + i, person[j][0], w) &&
                (i + w == n || !isalnum((unsigned char)obj[i + w])) &&
                !(w == 2 && !strncmp(obj + i, "US", 2))) /* the country */
                break;
        }
        if (at_word && j < MN_ARRAY_LEN(person)) {
            const char *r = person[j][1];
            size_t rl = strlen(r);
            if (o + rl + 1 > cap)
                break;
            memcpy(out + o, r, rl);
            if (isupper((unsigned char)obj[i]) && !(obj[i] == 'I' && i > 0))
                out[o] = (char)toupper((unsigned char)out[o]);
            o += rl;
            i += strlen(person[j][0]);
            continue;
        }
        out[o++] = obj[i++];
    }
    out[o] = '\0';
}

/* Adds "<who><verb> <object><post>" ("Mel lives in Oslo", "Mel's sister lives in Oslo"). */
static void emit(sink *k, int kind, const char *subject, const char *key, const char *verb,
                 const char *obj, size_t obj_len, const char *post)
{
    mn__fact *f;
    size_t i;
    char third[3 * MAX_OBJ];
    if (k->n == k->cap || obj_len == 0)
        return;
    f = &k->out[k->n];
    memset(f, 0, sizeof *f);
    f->kind = (mn_kind)kind;
    snprintf(f->subject, sizeof f->subject, "%s%s", subject, key ? key : "");
    third_person(obj, obj_len, third, sizeof third);
    snprintf(f->text, sizeof f->text, "%s%s%s %s%s", k->who, verb[0] == '\'' ? "" : " ", verb,
             third, post);
    for (i = 0; i < k->n; i++)
        if (!strcmp(k->out[i].subject, f->subject))
            return; /* one statement per subject per message: the first */
    k->n++;
}

static bool has_time(const char *low, size_t n)
{
    size_t i;
    char buf[MAX_CLAUSE + 2];
    if (n > MAX_CLAUSE)
        n = MAX_CLAUSE;
    buf[0] = ' ';
    memcpy(buf + 1, low, n);
    buf[n + 1] = '\0';
    for (i = 0; time_words[i]; i++)
        if (strstr(buf, time_words[i]))
            return true;
    return false;
}

/* One clause: orig and low are the same text, low in ASCII lower case. */
static void clause(sink *k, const char *orig, const char *low, size_t n)
{
    size_t r, j, ol;
    char key[64];
    /* "My favorite X is Y" */
    if (starts(low, "my favorite ") || starts(low, "my favourite ")) {
        size_t p = strlen("my favorite ") + (low[7] == 'u');
        const char *is = strstr(low + p, " is ");
        const char *are = strstr(low + p, " are ");
        const char *v = is && (!are || is < are) ? is : are;
        if (v && (size_t)(v - low) < n && (size_t)(v - low) - p <= 30) {
            size_t what = (size_t)(v - low) - p, start = (size_t)(v - low) + (v == is ? 4 : 5);
            char subj[48];
            ol = object_len(low + start, MN_MIN(n - start, MAX_OBJ), 0);
            snprintf(subj, sizeof subj, "favorite:%.*s", (int)what, low + p);
            for (j = 9; subj[j]; j++)
                if (subj[j] == ' ')
                    subj[j] = '-';
            if (ol) {
                char verb[64];
                snprintf(verb, sizeof verb, "'s favorite %.*s %s", (int)what, orig + p,
                         v == is ? "is" : "are");
                emit(k, T_PREF, subj, NULL, verb, orig + start, ol, "");
            }
        }
        return;
    }
    /* "My sister lives in Oslo", "my dog is called Rex" */
    if (starts(low, "my ")) {
        for (j = 0; family[j]; j++) {
            size_t fl = strlen(family[j]), v;
            if (!word_at(low + 3, family[j]))
                continue;
            for (v = 0; fam_verbs[v]; v++) {
                size_t at = 3 + fl + (fam_verbs[v][0] == '\'' ? 0 : 1);
                if (at < n && starts(low + at, fam_verbs[v])) {
                    size_t st = at + strlen(fam_verbs[v]);
                    char subj[64], verb[48];
                    ol = object_len(low + st, MN_MIN(n - st, MAX_OBJ), 0);
                    snprintf(subj, sizeof subj, "family:%s:%s", family[j], fam_keys[v]);
                    snprintf(verb, sizeof verb, "'s %s%s%.*s", family[j],
                             fam_verbs[v][0] == '\'' ? "" : " ", (int)strlen(fam_verbs[v]) - 1,
                             fam_verbs[v]);
                    emit(k, T_FACT, subj, NULL, verb, orig + st, ol, "");
                    return;
                }
            }
        }
    }
    /* "I have a dog named Rex", "I have two kids" */
    if (starts(low, "i have ") && (strstr(low, " named ") || strstr(low, " called "))) {
        ol = object_len(low + 7, MN_MIN(n - 7, MAX_OBJ), F_LIST);
        object_key(low + 7, MN_MIN(ol, strcspn(low + 7, " ") + 1 + strcspn(low + 7 + strcspn(low + 7, " ") + 1, " ")), key, sizeof key);
        emit(k, T_FACT, "family:has:", key, "has", orig + 7, ol, "");
        return;
    }
    if (starts(low, "i'm ") || starts(low, "i am ")) {
        /* "I'm 34 years old" */
        size_t p = low[1] == '\'' ? 4 : 5;
        if (isdigit((unsigned char)low[p])) {
            size_t d = p;
            while (d < n && isdigit((unsigned char)low[d]))
                d++;
            if (starts(low + d, " years old") || starts(low + d, " year old")) {
                emit(k, T_FACT, "age", NULL, "is", orig + p, d - p, " years old");
                return;
            }
        }
    }
    for (r = 0; r < MN_ARRAY_LEN(rules); r++) {
        const rule *ru = &rules[r];
        size_t pl = strlen(ru->prefix), st;
        if (pl >= n || !starts(low, ru->prefix))
            continue;
        st = pl;
        if (ru->flags & F_DIET) {
            for (j = 0; diets[j]; j++)
                if (word_at(low + st, diets[j])) {
                    emit(k, ru->kind, "diet", NULL, ru->verb, orig + st, strlen(diets[j]), "");
                    return;
                }
            continue; /* "I'm a teacher": not a diet; other rules may still match */
        }
        ol = object_len(low + st, MN_MIN(n - st, MAX_OBJ), ru->flags);
        if (ol < 2)
            continue;
        if (ru->flags & F_NOPRON) {
            size_t w = strcspn(low + st, " ");
            if (in_list(low + st, MN_MIN(w, ol), pron) || in_list(low + st, ol, pron))
                return;
            if (ol > 3 && (starts(low + st, "to think") || starts(low + st, "the fact")))
                return;
        }
        if ((ru->flags & F_TIME) && !has_time(low, n))
            return;
        if (ru->flags & F_NAME) {
            /* a name is one to three words, each starting with a letter */
            size_t words = 1, i;
            for (i = 0; i < ol; i++)
                if (low[st + i] == ' ')
                    words++;
            if (words > 3 || !isalpha((unsigned char)orig[st]))
                return;
        }
        object_key(low + st, ol, key, sizeof key);
        emit(k, ru->kind, ru->subject, ru->subject[strlen(ru->subject) - 1] == ':' ? key : NULL,
             ru->verb, orig + st, ol, "");
        return;
    }
}

/* Skips interjections at a clause start: "Oh, yeah I love ..." -> "I love ...". */
static size_t skip_fillers(const char *low, size_t n)
{
    size_t at = 0, j;
    bool again = true;
    while (again) {
        again = false;
        while (at < n && (low[at] == ' ' || low[at] == ','))
            at++;
        for (j = 0; fillers[j]; j++)
            if (word_at(low + at, fillers[j])) {
                at += strlen(fillers[j]);
                again = true;
                break;
            }
    }
    return at;
}

int mn__extract_rules(const char *text, const char *who, mn__fact *out, size_t cap,
                      size_t *out_n)
{
    char orig[MAX_CLAUSE + 1], low[MAX_CLAUSE + 1];
    sink k = {out, cap, 0, who && who[0] ? who : "User"};
    size_t i = 0, len = strlen(text);
    *out_n = 0;
    while (i < len && k.n < cap) {
        size_t o = 0, s, start;
        bool question;
        /* one sentence, curly apostrophes made straight */
        while (i < len && o < MAX_CLAUSE) {
            unsigned char c = (unsigned char)text[i];
            if (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
                ((unsigned char)text[i + 2] == 0x99 || (unsigned char)text[i + 2] == 0x98)) {
                orig[o++] = '\'';
                i += 3;
                continue;
            }
            orig[o++] = (char)c;
            i++;
            if (c == '.' || c == '!' || c == '?' || c == '\n')
                break;
        }
        orig[o] = '\0';
        question = o && orig[o - 1] == '?';
        for (s = 0; s < o; s++)
            low[s] = (char)tolower((unsigned char)orig[s]);
        low[o] = '\0';
        if (question)
            continue; /* "Do I like jazz?" states nothing */
        /* clauses start at the sentence start and after ", " "; " " and " " but " " so " */
        for (start = 0; start < o;) {
            size_t at = start + skip_fillers(low + start, o - start), next = o, j;
            static const char *const seps[] = {", ", "; ", ": ", " and ", " but ", " so ",
                                               NULL};
            for (s = at + 1; s < o && next == o; s++)
                for (j = 0; seps[j]; j++)
                    if (starts(low + s, seps[j]) && (s + strlen(seps[j]) < o) &&
                        (starts(low + s + strlen(seps[j]), "i ") ||
                         starts(low + s + strlen(seps[j]), "i'") ||
                         starts(low + s + strlen(seps[j]), "my ") ||
                         starts(low + s + strlen(seps[j]), "call me"))) {
                        next = s + strlen(seps[j]);
                        break;
                    }
            if (at < o)
                clause(&k, orig + at, low + at, (next == o ? o : next) - at);
            start = next;
        }
    }
    *out_n = k.n;
    return MN_OK;
}
