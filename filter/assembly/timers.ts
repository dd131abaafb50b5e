// Min-heap of (deadline, context id, sequence) for paused requests. Entries
// are removed lazily: a popped entry whose stream is gone or whose sequence no
// longer matches the stream's pending state is ignored.

export class TimerQueue {
  deadlines: i64[] = [];
  ids: u32[] = [];
  seqs: u32[] = [];
  poppedId: u32 = 0;
  poppedSeq: u32 = 0;

  get size(): i32 {
    return this.deadlines.length;
  }

  clear(): void {
    this.deadlines.length = 0;
    this.ids.length = 0;
    this.seqs.length = 0;
  }

  peekDeadline(): i64 {
    return this.deadlines.length > 0 ? unchecked(this.deadlines[0]) : i64.MAX_VALUE;
  }

  private swap(a: i32, b: i32): void {
    const d = unchecked(this.deadlines[a]); unchecked(this.deadlines[a] = this.deadlines[b]); unchecked(this.deadlines[b] = d);
    const i = unchecked(this.ids[a]); unchecked(this.ids[a] = this.ids[b]); unchecked(this.ids[b] = i);
    const s = unchecked(this.seqs[a]); unchecked(this.seqs[a] = this.seqs[b]); unchecked(this.seqs[b] = s);
  }

  push(deadline: i64, id: u32, seq: u32): void {
    this.deadlines.push(deadline);
    this.ids.push(id);
    this.seqs.push(seq);
    let i = this.deadlines.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (unchecked(this.deadlines[parent]) <= unchecked(this.deadlines[i])) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the earliest entry into poppedId/poppedSeq; false when empty. */
  pop(): bool {
    const n = this.deadlines.length;
    if (n == 0) return false;
    this.poppedId = unchecked(this.ids[0]);
    this.poppedSeq = unchecked(this.seqs[0]);
    const last = n - 1;
    if (last > 0) this.swap(0, last);
    this.deadlines.length = last;
    this.ids.length = last;
    this.seqs.length = last;
    let i = 0;
    while (true) {
      const l = i * 2 + 1;
      const r = l + 1;
      let m = i;
      if (l < last && unchecked(this.deadlines[l]) < unchecked(this.deadlines[m])) m = l;
      if (r < last && unchecked(this.deadlines[r]) < unchecked(this.deadlines[m])) m = r;
      if (m == i) break;
      this.swap(i, m);
      i = m;
    }
    return true;
  }
}
