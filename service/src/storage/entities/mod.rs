//! sea-orm entities, one per table. Migrations define the tables; these mirror them.

pub mod api_token;
pub mod audit_event;
pub mod audit_event_effect;
pub mod audit_event_subject;
pub mod business_domain;
pub mod crosswalk_link;
pub mod crosswalk_override;
pub mod designation;
pub mod domain_scope_item;
pub mod jurisdiction;
pub mod ministry;
pub mod obligation_rule;
pub mod operator;
pub mod scope_item_link;
pub mod scope_proposal;
pub mod sector;
pub mod sector_scope_item;
pub mod source;
pub mod special_operator_period;
