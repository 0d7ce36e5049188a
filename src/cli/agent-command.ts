// Placeholder until the agent command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope agent: not built yet');
  return 1;
}
