// Small statistics the bench scripts share.

/** The median of `xs` (the mean of the middle two for an even count); `xs` is not reordered. */
export function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
