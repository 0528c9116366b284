// SPDX-License-Identifier: MIT
// A TypeScript rule: transpiled inside the sandbox when the program is made, with the .ts
// modules it imports (types removed, not checked).
//   plugbox run --call process --data frame.json examples/modules/rule.ts
//   gst-launch-1.0 ... ! plugboxfilter location=examples/modules/rule.ts ! ...
import { inside, type Point, type Polygon } from './shapes.ts';

enum Verdict { Outside = "outside", Inside = "inside" }
interface Buffer { caps?: { width?: number; height?: number } | null }

const zone = [[0, 0], [320, 0], [320, 240], [0, 240]] as const satisfies Polygon;
let frames = 0;

export function process(buffer: Buffer): { message: { frames: number; centre: Verdict } } | undefined {
    frames++;
    const centre: Point = { x: (buffer.caps?.width ?? 0) / 2, y: (buffer.caps?.height ?? 0) / 2 };
    if (frames === 5)
        return { message: { frames, centre: inside(centre, zone) ? Verdict.Inside : Verdict.Outside } };
}
