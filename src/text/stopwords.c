/* stopwords.c - the English stopword list used to flag (not drop) function words. Entries
 * are in the tokenizer's output form: case-folded, apostrophes removed ("don't" -> "dont",
 * possessive "'s" already cut), so contractions match without a second normalisation. */
#include <string.h>

#include "text.h"

/* Sorted bytewise (LC_ALL=C sort) for the binary search below; the unit test checks the
 * order. Based on the common NLTK/Snowball English list; fragments such as "don" or "won"
 * are left out because this tokenizer never splits contractions and "won" is a real word.
 * The length is stored beside each word so that lookups never call strlen. */
#define W(s) {s, sizeof(s) - 1}

static const struct entry {
    const char *s;
    size_t len;
} words[] = {
    W("a"), W("about"), W("above"), W("after"), W("again"), W("against"), W("all"), W("am"),
    W("an"), W("and"), W("any"), W("are"), W("arent"), W("as"), W("at"), W("be"), W("because"),
    W("been"), W("before"), W("being"), W("below"), W("between"), W("both"), W("but"), W("by"),
    W("can"), W("cannot"), W("cant"), W("could"), W("couldnt"), W("did"), W("didnt"), W("do"),
    W("does"), W("doesnt"), W("doing"), W("dont"), W("down"), W("during"), W("each"), W("few"),
    W("for"), W("from"), W("further"), W("had"), W("hadnt"), W("has"), W("hasnt"), W("have"),
    W("havent"), W("having"), W("he"), W("her"), W("here"), W("hers"), W("herself"), W("him"),
    W("himself"), W("his"), W("how"), W("i"), W("if"), W("im"), W("in"), W("into"), W("is"),
    W("isnt"), W("it"), W("itll"), W("its"), W("itself"), W("ive"), W("just"), W("me"),
    W("mightnt"), W("more"), W("most"), W("mustnt"), W("my"), W("myself"), W("neednt"), W("no"),
    W("nor"), W("not"), W("now"), W("of"), W("off"), W("on"), W("once"), W("only"), W("or"),
    W("other"), W("our"), W("ours"), W("ourselves"), W("out"), W("over"), W("own"), W("s"),
    W("same"), W("shant"), W("she"), W("should"), W("shouldnt"), W("shouldve"), W("so"),
    W("some"), W("such"), W("t"), W("than"), W("that"), W("thatll"), W("the"), W("their"),
    W("theirs"), W("them"), W("themselves"), W("then"), W("there"), W("these"), W("they"),
    W("theyd"), W("theyll"), W("theyre"), W("theyve"), W("this"), W("those"), W("through"),
    W("to"), W("too"), W("under"), W("until"), W("up"), W("very"), W("was"), W("wasnt"),
    W("we"), W("were"), W("werent"), W("weve"), W("what"), W("when"), W("where"), W("which"),
    W("while"), W("who"), W("whom"), W("whose"), W("why"), W("will"), W("with"), W("wont"),
    W("would"), W("wouldnt"), W("you"), W("youd"), W("youll"), W("your"), W("youre"),
    W("yours"), W("yourself"), W("yourselves"), W("youve"),
};

static int cmp(const char *a, size_t la, const struct entry *e)
{
    int c = (unsigned char)a[0] - (unsigned char)e->s[0]; /* decides most steps */
    if (c)
        return c;
    c = memcmp(a + 1, e->s + 1, (la < e->len ? la : e->len) - 1);
    if (c)
        return c;
    return la < e->len ? -1 : la > e->len;
}

int mn__is_stopword(const char *w, size_t len)
{
    size_t lo = 0, hi = MN_ARRAY_LEN(words);
    if (!w || len == 0 || len > 10) /* no entry is longer than "yourselves" */
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(w, len, &words[mid]);
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

size_t mn__stopword_count(void)
{
    return MN_ARRAY_LEN(words);
}

const char *mn__stopword_at(size_t i)
{
    return i < MN_ARRAY_LEN(words) ? words[i].s : NULL;
}
