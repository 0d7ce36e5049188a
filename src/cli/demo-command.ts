// Placeholder until the demo command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope demo: not built yet');
  return 1;
}
