// Placeholder until the rules command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope rules: not built yet');
  return 1;
}
