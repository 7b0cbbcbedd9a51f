// GLSL for the map. Items are drawn as points (one vertex per item: no instancing, which software
// renderers run one instance at a time) with the atlas cell picked from the item index; items
// larger than the biggest point the GPU allows are drawn as instanced quads from the same source.

export const FLAG = { SELECTED: 1, EXCLUDED: 2, HIDDEN: 4, DIM: 8 };

const VERT_BODY = `
layout(location=1) in vec2 aFrom;
layout(location=2) in vec2 aTo;
layout(location=3) in vec4 aColor;
layout(location=4) in uint aFlags;
layout(location=5) in vec2 aCell;
uniform float uT;
uniform vec2 uCenter;
uniform float uK;
uniform vec2 uHalf;
uniform float uSize;
uniform float uMinPx;
uniform float uDpr;
uniform float uMaxPoint;
uniform int uBase;
uniform int uHover;
uniform int uPerAtlas;
uniform int uCols;
uniform float uCellSize;
out vec2 vLocal;
out vec4 vColor;
flat out uint vFlags;
flat out int vHover;
flat out vec4 vCellRect;
flat out vec2 vAspect;
flat out float vPx;
void main() {
  int idx = ITEM_INDEX;
  vFlags = aFlags;
  vColor = aColor;
  vHover = idx == uHover ? 1 : 0;
  vec2 cell = aCell.x > 0.0 ? aCell : vec2(uCellSize);
  vAspect = cell / max(cell.x, cell.y);
  int c = idx % uPerAtlas;
  vCellRect = vec4(vec2(float(c % uCols), float(c / uCols)) * uCellSize + floor((vec2(uCellSize) - cell) * 0.5), cell);
  float px = max(uSize * uK, uMinPx) * (vHover == 1 ? 1.3 : 1.0);
  vPx = px * uDpr;
  vLocal = vec2(0.0);
  if ((aFlags & 4u) != 0u) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); gl_PointSize = 0.0; return; }
  vec2 s = (mix(aFrom, aTo, uT) - uCenter) * uK;
  POSITION
}`;

export const POINT_VERT = `#version 300 es
#define ITEM_INDEX gl_VertexID
${VERT_BODY.replace('POSITION', `gl_PointSize = min(vPx, uMaxPoint);
  gl_Position = vec4(s / uHalf, 0.0, 1.0);`)}`;

export const QUAD_VERT = `#version 300 es
#define ITEM_INDEX (uBase + gl_InstanceID)
layout(location=0) in vec2 aCorner;
${VERT_BODY.replace('POSITION', `vLocal = vec2(aCorner.x, 1.0 - aCorner.y);
  gl_Position = vec4((s + (aCorner - 0.5) * px * vAspect) / uHalf, 0.0, 1.0);`)}`;

const FRAG_BODY = `
precision highp float;
precision highp int;
in vec2 vLocal;
in vec4 vColor;
flat in uint vFlags;
flat in int vHover;
flat in vec4 vCellRect;
flat in vec2 vAspect;
flat in float vPx;
uniform sampler2D uTex;
uniform int uMode;
uniform vec2 uSheet;
uniform float uFrame;
uniform float uDpr;
out vec4 outColor;
void main() {
  LOCAL
  vec2 side = vPx * vAspect;
  float d = min(min(l.x, 1.0 - l.x) * side.x, min(l.y, 1.0 - l.y) * side.y);
  vec4 c;
  if (uMode == 2) c = vec4(vColor.rgb, 1.0);
  else if (uMode == 1) c = texture(uTex, l);
  else c = texture(uTex, (vCellRect.xy + mix(vec2(0.5), vCellRect.zw - 0.5, l)) / uSheet);
  float frame = clamp(0.06 * min(side.x, side.y), uFrame * uDpr, 4.0 * uDpr);
  if (uMode != 2 && vColor.a > 0.0 && uFrame > 0.0 && d < frame) c = vec4(vColor.rgb, 1.0);
  if ((vFlags & 8u) != 0u) c.rgb *= 0.3;
  // Marks are outlined in near-black so that they show against every colour (cluster colours
  // include yellows and reds): an excluded item gets a red cross, a selected one a yellow frame.
  if ((vFlags & 2u) != 0u) {
    c.rgb = mix(c.rgb * 0.55, vec3(0.9, 0.1, 0.1), 0.35);
    float diag = min(abs(l.x - l.y), abs(l.x + l.y - 1.0)) * min(side.x, side.y);
    float arm = max(1.0 * uDpr, 0.035 * min(side.x, side.y));
    if (vPx >= 6.0 * uDpr && diag < arm + 1.5 * uDpr) c.rgb = diag < arm ? vec3(1.0, 0.12, 0.12) : vec3(0.05);
  }
  float bw = 2.0 * uDpr;
  if ((vFlags & 1u) != 0u && d < bw + 1.5 * uDpr) c.rgb = d < bw ? vec3(1.0, 0.83, 0.0) : vec3(0.05);
  if (vHover == 1 && d < bw) c.rgb = vec3(1.0);
  outColor = vec4(c.rgb, 1.0);
}`;

export const POINT_FRAG = `#version 300 es
${FRAG_BODY.replace('LOCAL', `vec2 l = (gl_PointCoord - 0.5) / vAspect + 0.5;
  if (l.x < 0.0 || l.y < 0.0 || l.x > 1.0 || l.y > 1.0) discard;`)}`;

export const QUAD_FRAG = `#version 300 es
${FRAG_BODY.replace('LOCAL', 'vec2 l = vLocal;')}`;

export const BLIT_VERT = `#version 300 es
layout(location=0) in vec2 aCorner;
uniform vec4 uRect;
out vec2 vUv;
void main() {
  vUv = aCorner;
  gl_Position = vec4(uRect.xy + (aCorner * 2.0 - 1.0) * uRect.zw, 0.0, 1.0);
}`;

export const BLIT_FRAG = `#version 300 es
precision highp float;
in vec2 vUv;
uniform sampler2D uTex;
out vec4 outColor;
void main() { outColor = texture(uTex, vUv); }`;
