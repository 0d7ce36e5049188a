// Placeholder until the run command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope run: not built yet');
  return 1;
}
