//! Timeline logic that is not drawing: the time view (zoom, pan, fit), the tick ladder,
//! class palettes and rows, and turning a view into [`tessera_render::timeline::StripPlan`]s.
//! Shared by the GUI panel, `tessera render-timeline` and `tessera bench timeline`.

pub mod model;
pub mod palette;
pub mod plan;
pub mod ticks;
pub mod view;

pub use model::{StripArea, TimelineModel};
pub use palette::Palette;
pub use plan::{CameraRows, StripGeometry, plan_strip};
pub use view::TimeView;
