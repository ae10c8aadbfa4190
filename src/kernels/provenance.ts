/**
 * What the fast passes ran, for benchmark reports: each fast pass notes a short description of its
 * algorithm and kernel ('forward: winograd F(2x2,3x3)'), and `cnn-check bench` reads the notes of a
 * case after timing it. Per thread; workers' notes are not collected (they run what the calling
 * thread chose).
 */

const notes: string[] = [];

/** Note what a pass ran (kept once, in the order first seen). */
export function noteKernel(text: string): void {
  if (!notes.includes(text)) notes.push(text);
}

/** The notes since the last clearKernelNotes, joined with '; ' (undefined when none). */
export function kernelNotes(): string | undefined {
  return notes.length ? notes.join('; ') : undefined;
}

/** Forget the notes (before timing a case). */
export function clearKernelNotes(): void {
  notes.length = 0;
}
