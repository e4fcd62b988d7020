/**
 * In-process async locks: a FIFO mutex (the write lock of the database) and a writer-preferring
 * read/write lock (backend locks: mutators share, a garbage-collection backend sweep is exclusive).
 */

/** Releases a held lock; calling it more than once does nothing. */
export type Release = () => void;

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** A FIFO async mutex. */
export class Mutex {
  #locked = false;
  readonly #queue: (() => void)[] = [];

  /** Resolves with a release function once the mutex is held. */
  acquire(): Promise<Release> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve(once(() => this.#release()));
    }
    return new Promise((resolve) => {
      this.#queue.push(() => resolve(once(() => this.#release())));
    });
  }

  /** Runs `fn` while holding the mutex. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}

/**
 * A read/write lock: any number of shared holders or one exclusive holder. Waiting exclusive requests
 * stop new shared holders from entering, so a collection is not starved by a stream of writers.
 */
export class RwLock {
  #shared = 0;
  #exclusive = false;
  readonly #waiting: { exclusive: boolean; grant: () => void }[] = [];

  /** Acquires the lock shared. */
  shared(): Promise<Release> {
    if (!this.#exclusive && this.#waiting.length === 0) {
      this.#shared++;
      return Promise.resolve(once(() => this.#releaseShared()));
    }
    return new Promise((resolve) => {
      this.#waiting.push({ exclusive: false, grant: () => resolve(once(() => this.#releaseShared())) });
    });
  }

  /** Acquires the lock exclusively. */
  exclusive(): Promise<Release> {
    if (!this.#exclusive && this.#shared === 0 && this.#waiting.length === 0) {
      this.#exclusive = true;
      return Promise.resolve(once(() => this.#releaseExclusive()));
    }
    return new Promise((resolve) => {
      this.#waiting.push({ exclusive: true, grant: () => resolve(once(() => this.#releaseExclusive())) });
    });
  }

  /** Runs `fn` holding the lock shared. */
  async runShared<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = await this.shared();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Runs `fn` holding the lock exclusively. */
  async runExclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = await this.exclusive();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #releaseShared(): void {
    this.#shared--;
    this.#dispatch();
  }

  #releaseExclusive(): void {
    this.#exclusive = false;
    this.#dispatch();
  }

  #dispatch(): void {
    if (this.#exclusive) return;
    while (this.#waiting.length > 0) {
      const head = this.#waiting[0]!;
      if (head.exclusive) {
        if (this.#shared > 0) return;
        this.#waiting.shift();
        this.#exclusive = true;
        head.grant();
        return;
      }
      this.#waiting.shift();
      this.#shared++;
      head.grant();
    }
  }
}
