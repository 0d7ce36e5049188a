// Placeholder until the server command lands; replaced by its owner.
export async function run(_argv: string[]): Promise<number> {
  console.error('rankscope server: not built yet');
  return 1;
}
