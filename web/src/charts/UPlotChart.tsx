// One uPlot instance bound to a React element: built when options change, fed when data changes,
// resized with its container. Every chart in the UI goes through here, so uPlot stays a lazy chunk.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UPlotChartProps {
  options: Omit<uPlot.Options, 'width' | 'height'>;
  data: uPlot.AlignedData;
  heightPx: number;
  testId?: string;
}

export default function UPlotChart({ options, data, heightPx, testId }: UPlotChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latestData = useRef(data);
  latestData.current = data;

  useEffect(() => {
    const element = host.current!;
    const widthPx = Math.max(element.clientWidth, 200);
    const created = new uPlot({ ...options, width: widthPx, height: heightPx }, latestData.current, element);
    plot.current = created;
    const observer = new ResizeObserver(() => {
      const width = Math.max(element.clientWidth, 200);
      if (width !== created.width) created.setSize({ width, height: heightPx });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      plot.current = null;
    };
  }, [options, heightPx]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={host} className="uplot-host" data-testid={testId} />;
}
