/**
 * "Complete" for a file whose writer gives no sign: the same size and modification time on two
 * looks at least `stableMs` apart. Writers that can should upload under a temporary name
 * (`.part`, `.tmp`, a leading dot) and rename when done; then this check only adds its delay.
 * The looks are remembered in this process only: after a restart a file is looked at twice again.
 */
export interface StabilityTracker {
  /** Records a look; true when the file has not changed since a look at least stableMs ago. */
  isStable(key: string, size: number, mtimeMs: number): boolean;
  /** Forgets the files under `prefix` that were not looked at since the last call. */
  sweep(prefix: string): void;
}

interface Look {
  size: number;
  mtimeMs: number;
  since: number;
  seen: boolean;
}

export function createStabilityTracker(
  stableMs: number,
  now: () => number = () => performance.now(),
): StabilityTracker {
  const looks = new Map<string, Look>();
  return {
    isStable(key, size, mtimeMs) {
      const at = now();
      const earlier = looks.get(key);
      if (earlier === undefined || earlier.size !== size || earlier.mtimeMs !== mtimeMs) {
        looks.set(key, { size, mtimeMs, since: at, seen: true });
        return false;
      }
      earlier.seen = true;
      return at - earlier.since >= stableMs;
    },
    sweep(prefix) {
      for (const [key, look] of looks) {
        if (!key.startsWith(prefix)) continue;
        if (look.seen) look.seen = false;
        else looks.delete(key);
      }
    },
  };
}
