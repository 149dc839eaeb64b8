/*
 * bcryptprimitives.dll for Wine 8, which has none. Rust's standard library (1.78 and later) gets
 * its random numbers from ProcessPrng in this DLL, so Windows .node addons built with Rust
 * (vitest's rolldown and lightningcss) fail to load under Wine 8 without it. This gives
 * ProcessPrng over advapi32's SystemFunction036 (RtlGenRandom), which Wine has. Test use only:
 * built by build/wine/native-deps.mjs into a throwaway prefix, never shipped.
 */
#include <windows.h>
#include <ntsecapi.h>

/* Windows documents ProcessPrng as always returning TRUE; RtlGenRandom takes at most a ULONG. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
  while (size > 0) {
    ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    size -= chunk;
  }
  return TRUE;
}
