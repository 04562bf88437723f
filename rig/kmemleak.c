// SPDX-License-Identifier: GPL-2.0
/*
 * kmemleak's verdict, confirmed by a second scan.
 *
 * /sys/kernel/debug/kmemleak lists the objects its latest scan found no
 * pointer to.  An object can look so for exactly one scan while the
 * structure that holds it is being rebuilt under RCU (an xa_node moved
 * between slots: seen once here on the pid IDR, while CPUs went on and
 * offline and new kthreads took pids), and kmemleak's next scan finds
 * the pointer again and drops it from the listing.  A leak stays.  So a
 * run scans twice and keeps both listings in one file:
 *
 *	== scan 1 ==
 *	unreferenced object 0x... (size N):
 *	  comm "...", pid P, jiffies J
 *	...
 *	== scan 2 ==
 *	...
 *
 * and an object is a leak when the second listing has it with the same
 * first two lines (address, size, owner, allocation time) as the first.
 * A run's file (kmemleak-N.log in its results) copied to
 * tests/fixtures/NAME.scans is a fixture, judged by the same code.
 */
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define OBJECT "unreferenced object "

/* Start of the listing after "== scan N ==", or NULL. */
static const char *listing(const char *text, int n, const char **end)
{
	char mark[32];
	const char *p, *next;

	snprintf(mark, sizeof(mark), "== scan %d ==\n", n);
	p = strstr(text, mark);
	if (!p)
		return NULL;
	p += strlen(mark);
	next = strstr(p, "== scan ");
	*end = next ? next : p + strlen(p);
	return p;
}

/* Length of the object record at p (up to the next record or end). */
static size_t record_len(const char *p, const char *end)
{
	const char *q = p + 1;

	while (q < end) {
		q = memchr(q, '\n', end - q);
		if (!q || ++q >= end)
			return end - p;
		if (!strncmp(q, OBJECT, strlen(OBJECT)))
			return q - p;
	}
	return end - p;
}

/* Length of the record's first two lines: the identity of the object. */
static size_t key_len(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);

	if (nl)
		nl = memchr(nl + 1, '\n', len - (nl + 1 - p));
	return nl ? (size_t)(nl + 1 - p) : len;
}

static bool listed(const char *key, size_t klen, const char *p, const char *end)
{
	while (p + klen <= end) {
		if (!strncmp(p, key, klen))
			return true;
		p = memchr(p, '\n', end - p);
		if (!p)
			return false;
		p++;
	}
	return false;
}

/*
 * The objects of both listings in text: their records go to out (if not
 * NULL) and their titles, as the console scanner names a kmemleak report,
 * into t.  Returns how many, or -1 when text lacks one of the listings.
 */
int kmemleak_confirmed(const char *text, FILE *out, struct titles *t)
{
	const char *a, *a_end, *b, *b_end, *p;
	char *both = NULL;
	size_t size = 0, len, klen;
	FILE *f;
	int n = 0;

	a = listing(text, 1, &a_end);
	b = listing(text, 2, &b_end);
	if (!a || !b)
		return -1;
	f = open_memstream(&both, &size);
	if (!f)
		die("out of memory");
	for (p = strstr(b, OBJECT); p && p < b_end; p = strstr(p + len, OBJECT)) {
		len = record_len(p, b_end);
		klen = key_len(p, len);
		if (!listed(p, klen, a, a_end))
			continue;
		fwrite(p, 1, len, f);
		n++;
	}
	fclose(f);
	if (out && size)
		fwrite(both, 1, size, out);
	if (n)
		scan_text(both, t);
	free(both);
	return n;
}
