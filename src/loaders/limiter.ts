/**
 * Runs tasks with at most `limit` of them pending at once, in the order they were queued. When a
 * task settles, the next queued one starts before anyone awaiting the settled one resumes: the
 * next upstream call goes out first, then the GraphQL work on the answer that came back.
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    active -= 1;
    queue.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = () => {
        active += 1;
        let started: Promise<T>;
        try {
          started = task();
        } catch (error) {
          // A task that throws instead of rejecting still gives its place back.
          started = Promise.reject(error);
        }
        started.then(
          (value) => {
            next();
            resolve(value);
          },
          (error: unknown) => {
            next();
            reject(error);
          },
        );
      };
      if (active < limit) run();
      else queue.push(run);
    });
}
