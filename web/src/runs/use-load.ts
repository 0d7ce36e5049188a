// A value loaded for a component, with its loading and error states; reloaded when `deps` change
// and, with `refreshMs`, every so often (a running run keeps moving).
import { useEffect, useState } from 'react';

export type Loadable<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; value: T };

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], refreshMs?: number): Loadable<T> {
  const [value, setValue] = useState<Loadable<T>>({ state: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setValue({ state: 'loading' });
    const run = (first: boolean) => {
      load(controller.signal).then(
        (result) => {
          if (controller.signal.aborted) return;
          setValue({ state: 'ready', value: result });
          if (refreshMs !== undefined) timer = setTimeout(() => run(false), refreshMs);
        },
        (error: Error) => {
          if (controller.signal.aborted) return;
          // A failed refresh keeps what is shown; only a failed first load shows the error.
          if (first) setValue({ state: 'error', message: error.message });
          if (refreshMs !== undefined) timer = setTimeout(() => run(false), refreshMs);
        },
      );
    };
    run(true);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
    // The caller lists what the load depends on, like useEffect itself.
  }, deps);
  return value;
}
