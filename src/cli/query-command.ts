// Placeholder until the query command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope query: not built yet');
  return 1;
}
