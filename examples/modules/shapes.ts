// SPDX-License-Identifier: MIT
// Helpers a TypeScript rule imports (see rule.ts): a point inside a polygon, by ray casting.
export interface Point { x: number; y: number }
export type Polygon = readonly (readonly [number, number])[];

export function inside(p: Point, polygon: Polygon): boolean {
    let hit = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
        const [xi, yi] = polygon[i], [xj, yj] = polygon[j];
        if ((yi > p.y) !== (yj > p.y) && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi)
            hit = !hit;
    }
    return hit;
}
