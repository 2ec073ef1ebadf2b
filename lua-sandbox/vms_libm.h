/*
 * vms_libm.h — the contract runtime's own double-precision math functions:
 * musl 1.2.3's libm (from Debian's musl source package, see
 * scripts/fetch-debsrc.sh), compiled by the Makefile into build/libm with
 * -ffp-contract=off, __FP_FAST_FMA undefined and no builtins, so every
 * operation is one IEEE 754 operation in a fixed order and the results are
 * the same bits on every 64-bit machine. The C library's libm is not: it
 * differs between C libraries, CPU architectures and even CPU features
 * (glibc picks FMA variants at run time), and replay must be exact.
 *
 * Lua's math library and its ^ operator use these through vms_luauser.h.
 * fmod, floor, ceil, fabs, sqrt, frexp, ldexp and scalbn are exact in every
 * IEEE libm and stay the C library's.
 *
 * With VMS_LIBM_BUILD defined (only when compiling musl's files), this
 * header is force-included first: it reads <math.h> under the standard
 * names, then renames musl's public and internal symbols to vms_m_*, so
 * nothing collides with the C library's libm.
 */
#ifndef VMS_LIBM_H
#define VMS_LIBM_H

#ifdef VMS_LIBM_BUILD
#include <float.h>
#include <math.h>
#define sin		vms_m_sin
#define cos		vms_m_cos
#define tan		vms_m_tan
#define asin		vms_m_asin
#define acos		vms_m_acos
#define atan		vms_m_atan
#define atan2		vms_m_atan2
#define exp		vms_m_exp
#define expm1		vms_m_expm1
#define log		vms_m_log
#define log1p		vms_m_log1p
#define log2		vms_m_log2
#define log10		vms_m_log10
#define pow		vms_m_pow
#define sinh		vms_m_sinh
#define cosh		vms_m_cosh
#define tanh		vms_m_tanh
/* musl's internal symbols (src/internal/libm.h and the data tables) */
#define __sin		vms_m___sin
#define __cos		vms_m___cos
#define __tan		vms_m___tan
#define __sinl		vms_m___sinl
#define __cosl		vms_m___cosl
#define __tanl		vms_m___tanl
#define __sindf		vms_m___sindf
#define __cosdf		vms_m___cosdf
#define __tandf		vms_m___tandf
#define __rem_pio2	vms_m___rem_pio2
#define __rem_pio2f	vms_m___rem_pio2f
#define __rem_pio2l	vms_m___rem_pio2l
#define __rem_pio2_large vms_m___rem_pio2_large
#define __expo2		vms_m___expo2
#define __expo2f	vms_m___expo2f
#define __lgamma_r	vms_m___lgamma_r
#define __lgammaf_r	vms_m___lgammaf_r
#define __polevll	vms_m___polevll
#define __p1evll	vms_m___p1evll
#define __math_oflow	vms_m___math_oflow
#define __math_oflowf	vms_m___math_oflowf
#define __math_uflow	vms_m___math_uflow
#define __math_uflowf	vms_m___math_uflowf
#define __math_xflow	vms_m___math_xflow
#define __math_xflowf	vms_m___math_xflowf
#define __math_invalid	vms_m___math_invalid
#define __math_invalidf	vms_m___math_invalidf
#define __math_invalidl	vms_m___math_invalidl
#define __math_divzero	vms_m___math_divzero
#define __math_divzerof	vms_m___math_divzerof
#define __exp_data	vms_m___exp_data
#define __log_data	vms_m___log_data
#define __log2_data	vms_m___log2_data
#define __pow_log_data	vms_m___pow_log_data
/* <math.h> declared the standard names: declare the renamed ones */
double	sin(double), cos(double), tan(double);
double	asin(double), acos(double), atan(double), atan2(double, double);
double	exp(double), expm1(double), log(double), log1p(double);
double	log2(double), log10(double), pow(double, double);
double	sinh(double), cosh(double), tanh(double);
#else
double	vms_m_sin(double);
double	vms_m_cos(double);
double	vms_m_tan(double);
double	vms_m_asin(double);
double	vms_m_acos(double);
double	vms_m_atan(double);
double	vms_m_atan2(double, double);
double	vms_m_exp(double);
double	vms_m_log(double);
double	vms_m_log2(double);
double	vms_m_log10(double);
double	vms_m_pow(double, double);
double	vms_m_sinh(double);
double	vms_m_cosh(double);
double	vms_m_tanh(double);
#endif

#endif
