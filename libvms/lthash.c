/*
 * lthash.c — lanes += or -= ChaCha20(key) (lthash.h).
 *
 * The AVX-512 code runs the 20 rounds on sixteen blocks at once, one
 * vector per state word (lane i of vector w is word w of block i), then
 * transposes the 16x16 words back to block order and adds each 64-byte
 * block of keystream to its 32 lanes with one 16-bit vector add. Two
 * passes make the 32 blocks (2048 bytes). ChaCha20 as in libsodium's
 * crypto_stream_chacha20 (the original 64-bit nonce and counter): words
 * 0-3 the constant, 4-11 the key, 12-13 the block counter, 14-15 the nonce.
 */
#include <string.h>

#include <sodium.h>

#include "cpu.h"
#include "lthash.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX512_CODE 1
#endif

#ifdef HAVE_AVX512_CODE
#define QR(a, b, c, d) do {						\
	a = _mm512_add_epi32(a, b);					\
	d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16);		\
	c = _mm512_add_epi32(c, d);					\
	b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12);		\
	a = _mm512_add_epi32(a, b);					\
	d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);		\
	c = _mm512_add_epi32(c, d);					\
	b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);		\
} while (0)

__attribute__((target("avx512f,avx512bw")))
static void
mix_avx512(uint16_t lanes[LTHASH_LANES], const uint8_t key[LTHASH_KEYLEN],
    int add)
{
	__m512i in[16], x[16], t[16];
	uint32_t k;
	int pass, i, j, q, l;

	in[0] = _mm512_set1_epi32(0x61707865);	/* "expand 32-byte k" */
	in[1] = _mm512_set1_epi32(0x3320646e);
	in[2] = _mm512_set1_epi32(0x79622d32);
	in[3] = _mm512_set1_epi32(0x6b206574);
	for (i = 0; i < 8; i++) {
		memcpy(&k, key + 4 * i, 4);	/* little-endian, as x86 */
		in[4 + i] = _mm512_set1_epi32((int)k);
	}
	in[13] = in[14] = in[15] = _mm512_setzero_si512();
	for (pass = 0; pass < 2; pass++) {
		/* block counters 16 * pass + 0..15 */
		in[12] = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12,
		    11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
		    _mm512_set1_epi32(16 * pass));
		for (i = 0; i < 16; i++)
			x[i] = in[i];
		for (i = 0; i < 10; i++) {
			QR(x[0], x[4], x[8], x[12]);
			QR(x[1], x[5], x[9], x[13]);
			QR(x[2], x[6], x[10], x[14]);
			QR(x[3], x[7], x[11], x[15]);
			QR(x[0], x[5], x[10], x[15]);
			QR(x[1], x[6], x[11], x[12]);
			QR(x[2], x[7], x[8], x[13]);
			QR(x[3], x[4], x[9], x[14]);
		}
		for (i = 0; i < 16; i++)
			x[i] = _mm512_add_epi32(x[i], in[i]);
		/*
		 * Transpose. After the 32- and 64-bit interleaves, x[4j + q]
		 * holds in its 128-bit lane l the words 4j..4j+3 of block
		 * 4l + q; the 128-bit shuffles then gather block 4l + q.
		 */
		for (i = 0; i < 8; i++) {
			t[2 * i] = _mm512_unpacklo_epi32(x[2 * i], x[2 * i + 1]);
			t[2 * i + 1] = _mm512_unpackhi_epi32(x[2 * i],
			    x[2 * i + 1]);
		}
		for (j = 0; j < 4; j++) {
			x[4 * j] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
			x[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j],
			    t[4 * j + 2]);
			x[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1],
			    t[4 * j + 3]);
			x[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1],
			    t[4 * j + 3]);
		}
		for (q = 0; q < 4; q++) {
			__m512i a, b, c, d, o[4];

			a = _mm512_shuffle_i32x4(x[q], x[4 + q], 0x44);
			b = _mm512_shuffle_i32x4(x[q], x[4 + q], 0xee);
			c = _mm512_shuffle_i32x4(x[8 + q], x[12 + q], 0x44);
			d = _mm512_shuffle_i32x4(x[8 + q], x[12 + q], 0xee);
			o[0] = _mm512_shuffle_i32x4(a, c, 0x88);
			o[1] = _mm512_shuffle_i32x4(a, c, 0xdd);
			o[2] = _mm512_shuffle_i32x4(b, d, 0x88);
			o[3] = _mm512_shuffle_i32x4(b, d, 0xdd);
			for (l = 0; l < 4; l++) {
				/* block 16 * pass + 4l + q: 32 lanes */
				uint16_t *p = lanes + 32 * (16 * pass + 4 * l + q);
				__m512i v = _mm512_loadu_si512(p);

				v = add ? _mm512_add_epi16(v, o[l]) :
				    _mm512_sub_epi16(v, o[l]);
				_mm512_storeu_si512(p, v);
			}
		}
	}
}
#endif

void
lthash_mix(uint16_t lanes[LTHASH_LANES], const uint8_t key[LTHASH_KEYLEN],
    int add)
{
	static const uint8_t zero[crypto_stream_chacha20_NONCEBYTES];
	uint8_t ks[2 * LTHASH_LANES];
	size_t i;

#ifdef HAVE_AVX512_CODE
	if (vms_cpu_has(VMS_CPU_AVX512)) {
		mix_avx512(lanes, key, add);
		return;
	}
#endif
	crypto_stream_chacha20(ks, sizeof(ks), zero, key);
	/* (two plain loops over 16-bit lanes: the compiler vectorizes them) */
	if (add)
		for (i = 0; i < LTHASH_LANES; i++)
			lanes[i] = (uint16_t)(lanes[i] +
			    (uint16_t)(ks[2 * i] | (ks[2 * i + 1] << 8)));
	else
		for (i = 0; i < LTHASH_LANES; i++)
			lanes[i] = (uint16_t)(lanes[i] -
			    (uint16_t)(ks[2 * i] | (ks[2 * i + 1] << 8)));
}
