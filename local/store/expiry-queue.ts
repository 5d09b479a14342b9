/**
 * Uploads by the time they were last touched, earliest first (a binary heap), so that finding the expired ones costs
 * the number expired, not the number of uploads. An upload touched again is pushed again; its earlier entries are
 * recognised as out of date when they come up (the caller checks the record's time) and dropped.
 */
export interface ExpiryEntry {
  readonly at: number;
  readonly id: string;
}

export class ExpiryQueue {
  private readonly heap: ExpiryEntry[] = [];

  public get size(): number {
    return this.heap.length;
  }

  public push(at: number, id: string): void {
    const heap = this.heap;
    heap.push({ at, id });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = Math.floor((i - 1) / 2);
      if (heap[parent].at <= heap[i].at) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** Removes and returns the entries at or before `cutoff`. */
  public popDue(cutoff: number): ExpiryEntry[] {
    const due: ExpiryEntry[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= cutoff) due.push(this.pop());
    return due;
  }

  private pop(): ExpiryEntry {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && heap[l].at < heap[smallest].at) smallest = l;
        if (r < heap.length && heap[r].at < heap[smallest].at) smallest = r;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}
