//! Which kind of equipment a text is about, and whether a procedure is
//! about the same kind.
//!
//! A local answer must cite a procedure about the equipment the question
//! names: a walk-in freezer's compressor is not answered from the air
//! compressor procedure, nor a truck's alternator from the standby
//! generator's. The lexicon below names the knowledge base's kinds of
//! equipment (the taxonomy's scope) and the near-scope kinds it does not
//! cover (vehicles and mobile plant, lifts, machine tools, domestic and
//! catering appliances, consumer networking, medical and office devices).
//! Case-insensitive, compiled once, pure.

use regex::Regex;
use std::sync::LazyLock;

/// A kind of equipment the knowledge base covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pump,
    AirCompressor,
    RooftopUnit,
    Chiller,
    Drive,
    Panel,
    Generator,
    Ups,
    Plc,
    Transmitter,
    NetworkGear,
    PvInverter,
    HydraulicPowerUnit,
    Conveyor,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pump => "pump",
            Kind::AirCompressor => "air compressor",
            Kind::RooftopUnit => "rooftop unit or split system",
            Kind::Chiller => "chiller",
            Kind::Drive => "variable frequency drive",
            Kind::Panel => "low-voltage panel or MCC",
            Kind::Generator => "standby generator or transfer switch",
            Kind::Ups => "UPS or battery bank",
            Kind::Plc => "PLC or remote I/O",
            Kind::Transmitter => "transmitter",
            Kind::NetworkGear => "industrial switch or cellular router",
            Kind::PvInverter => "PV inverter",
            Kind::HydraulicPowerUnit => "hydraulic power unit",
            Kind::Conveyor => "belt conveyor or gearmotor",
        }
    }
}

/// A kind of equipment near the knowledge base's scope but outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outside {
    Vehicle,
    Lift,
    MachineTool,
    Domestic,
    Catering,
    ConsumerNetwork,
    Medical,
    Office,
}

impl Outside {
    pub fn as_str(self) -> &'static str {
        match self {
            Outside::Vehicle => "vehicle or mobile plant",
            Outside::Lift => "lift or escalator",
            Outside::MachineTool => "machine tool",
            Outside::Domestic => "domestic appliance",
            Outside::Catering => "catering equipment",
            Outside::ConsumerNetwork => "consumer or home networking",
            Outside::Medical => "medical device",
            Outside::Office => "office equipment",
        }
    }
}

use super::rules::re;

/// Words that name equipment outside the scope. Checked before the kinds
/// in scope, since they often contain an in-scope word ("walk-in freezer
/// compressor", "truck a/c", "home router").
static OUTSIDE: LazyLock<Vec<(Outside, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Outside::Lift,
            re(
                r"(?i)\b(elevators?|escalators?|lift (car|shaft|door|motor|controller|pit)s?|passenger lift|goods lift|dumbwaiter|travelator)\b",
            ),
        ),
        (
            Outside::Vehicle,
            re(concat!(
                r"(?i)\b(cars?|my car|company car|trucks?|haul ?truck|dump ?truck|pick-?up|utes?|vans?|lorr(y|ies)|",
                r"buses|(the|a|school|site|passenger|shuttle|tour) bus|bus (front |rear |back |side )?(doors?|driver|engine|aircon|a/?c|brakes?)|coach|trailers?|telehandlers?|cherry pickers?|scissor lifts?|boom lifts?|mewps?|mobile cranes?|crane trucks?|reefer|semi|tractors?|forklifts?|fork ?truck|reach truck|pallet jack|",
                r"excavators?|diggers?|backhoe|bulldozers?|dozers?|graders?|(wheel |front[- ]end |skid[- ]steer )?loaders?|",
                r"scrapers?|draglines?|rope shovel|drill rig|water cart|light vehicle|lv|ambulance|motorbike|",
                r"motorcycle|boat|outboard|aircraft|aeroplane|airplane|helicopter|tyres?|tires?|windscreen|",
                r"steering|transmission|gearstick|clutch pedal|dashboard|ignition|(in|of|to) the cab|cab (a/?c|aircon|heater|fan)|",
                r"engine bay|radiator cap|alternator belt|headlights?|tail ?lights?|indicators? lights?|wipers?)\b",
            )),
        ),
        (
            Outside::MachineTool,
            re(concat!(
                r"(?i)\b(cnc|lathes?|milling machines?|mill spindle|machining cent(re|er)|press brake|bandsaws?|band saw|",
                r"injection mou?ld\w*|surface grinder|pedestal drill|pillar drill|drill press|edm|wire eroder|",
                r"plasma cutter|laser cutter|router table|spindle drive|tool ?changer|chuck|turning cent(re|er)|mou?lding machines?|mou?ld protect|mou?lds?|",
                r"vmc|hmc|servo amp\w*|way lube)\b",
            )),
        ),
        (
            Outside::Catering,
            re(concat!(
                r"(?i)\b(walk-?in (cooler|freezer|fridge|chiller|cold room)|cold room|ice (machine|maker)|combi ?ovens?|",
                r"fryers?|deep fat|griddle|bain[- ]marie|salamander|extraction hood|kitchen (hood|canopy|extract\w*)|",
                r"canopy extract\w*|coffee machine|espresso|glass ?washer|pass-?through dishwasher|display (fridge|cooler|case)|",
                r"under-?counter (fridge|freezer)|blast chiller|commercial kitchen|restaurant|catering|bar cooler|keg)\b",
            )),
        ),
        (
            Outside::Domestic,
            re(concat!(
                r"(?i)\b(fridges?|refrigerators?|fridge-?freezer|chest freezer|(home|house|domestic|kitchen) (freezer|boiler|aircon|a/?c|heat pump)|",
                r"washing machines?|washer-?dryer|tumble ?dryer|dishwashers?|ovens?|hob|microwave|kettle|toaster|",
                r"combi boiler|(hot )?water heater|immersion heater|window (unit|aircon|a/?c)|portable (aircon|a/?c)|",
                r"heat pump water heater|hoover|vacuum cleaner|my (house|home|flat|apartment|kitchen)|at home|thermostat at home)\b",
            )),
        ),
        (
            Outside::ConsumerNetwork,
            re(concat!(
                r"(?i)\b(home (wi-?fi|router|network|broadband|internet|solar|battery)|my solar|isp|broadband provider|broadband|mesh (wi-?fi|system|network|nodes?)|",
                r"smart ?tv|television|tv|chromecast|firestick|roku|game console|xbox|playstation|ps5|nintendo|home nas|",
                r"smart speaker|alexa|google home|netflix|streaming stick|consoles?|nas|nat type|online part(y|ies)|port forward\w*|forward ports)\b",
            )),
        ),
        (
            Outside::Medical,
            re(concat!(
                r"(?i)\b(infusion pumps?|syringe drivers?|ventilators? (alarm|patient)|patient|x-?ray|mri|ct scanner|ultrasound|",
                r"defibrillator|aed|dialysis|pacemaker|hospital bed|ecg|blood pressure monitor|oxygen concentrator|autoclave)\b",
            )),
        ),
        (
            Outside::Office,
            re(concat!(
                r"(?i)\b(printers?|photocopier|copier|laptops?|desktop pc|my pc|monitor screen|projector|",
                r"docking station|keyboard|mouse|iphone|android phone|tablet|smartwatch|outlook|teams|excel|toner|cartridges?|site office|",
                r"under (my|the) desk|pcs?|hp m\d+)\b",
            )),
        ),
    ]
});

/// Parts of mobile plant (and its engines) that fixed plant does not have:
/// they put a text outside the scope only when it names no kind in scope
/// ("starter motor on the genset" stays a generator's).
static MOBILE_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b(booms?|boom (light|hose|cylinder)s?|stick|dipper|buckets?|bkt|tray|tracks?|track (assembly|frame|pad|chain|group)|",
        r"undercarriage|propel|swing (motor|gear|brake|bearing|circle|pump)s?|drag (ropes?|chains?|motors?)|hoist (ropes?|motors?|drums?)|",
        r"dragline|fairlead|implement|hoist (mtr|brake)|blower (motor|connections?)|drill deck|gas tester|hand ?rails?|gear ?shift|retarder|park(ing)? brakes?|injectors?|driveline|drive ?shafts?|uni(versal)? joints?|",
        r"front uni|tail ?gate|ripper|blade|mouldboard|cutting edges?|teeth|tooth|get\b|cab\b|cabin|dash|seat ?belts?|",
        r"starter motors?|starter relay|glow plugs?|turbo\w*|exhaust|muffler|fuel (tank|cap|gauge|pump|injector)s?|",
        r"a/?c compressor|air ?con(d|ditioner)? compressor|walking shoes?|shoes?|rims?|wheel (motor|hub|nut)s?|",
        r"axles?|diff(erential)?s?|final drives?|torque converter|trans\b|transmission|susp(ension)?|struts?|vims|payload)\b",
    ))
});

/// Words that name a kind of equipment the knowledge base covers.
static KINDS: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Kind::Pump,
            re(
                r"(?i)\b((p|bp|cwp|chwp|dwp|hwp|pmp)[- ]?\d{1,4}[a-z]?|centrifugal pumps?|pumps?|pump sets?|impellers?|mech(anical)? seals?|volutes?|p-?\d{1,4}[a-z]?)\b",
            ),
        ),
        (
            Kind::AirCompressor,
            re(
                r"(?i)\b((cmp|comp|ac|c)[- ]?\d{1,4}[a-z]?|dryers?|air (network|lines?)|air compressors?|compressors?|comp\b|screw compressors?|rotary screw|air receivers?|compressed air|air dryers?|air end|unloader|blowdown valve)",
            ),
        ),
        (
            Kind::RooftopUnit,
            re(
                r"(?i)\b((acu|ahu|fcu|cu|pu)[- ]?\d{1,4}[a-z]?|a/?c units?|thermostats?|rooftop units?|roof ?top units?|rtus?|rtu-?\d+|split (systems?|units?)|ahus?|air handl\w+|packaged units?|economi[sz]ers?|heat section|condensing units?|fan coils?|supply air|return air)\b",
            ),
        ),
        (
            Kind::Chiller,
            re(
                r"(?i)\b((ch|chl|chlr)[- ]?\d{1,4}[a-z]?|chillers?|ch-?\d+|chilled water|evaporator|condenser water|cooling towers?|ct (fans?|cells?|basins?|gearbox(es)?))\b",
            ),
        ),
        (
            Kind::Drive,
            re(
                r"(?i)\b((vfd|vsd|drv)[- ]?\d{1,4}[a-z]?|drives?|accel\w*|decel\w*|vfds?|vsds?|variable (frequency|speed) drives?|inverter drives?|drive (trip|fault|tripped|faulted)\w*|ac drives?|dc bus|overcurrent trip)\b",
            ),
        ),
        (
            Kind::Panel,
            re(
                r"(?i)\b((lp|db|msb|mdb|sb)[- ]?\d{1,4}[a-z]?|residual current devices?|earth leakage|rcbos?|phase (loss|imbalance)|voltage imbalance|incomers?|long time pickup|mccs?|motor control cent(re|er)s?|switchboards?|switchgear|distribution boards?|db board|panel ?boards?|lv panels?|breakers?|mccbs?|acbs?|rcds?|contactors?|overloads?|motor starters?|busbars?|bus bars?|isolators?|fuses?)\b",
            ),
        ),
        (
            Kind::Generator,
            re(
                r"(?i)\b((gen|ats)[- ]?\d{1,4}[a-z]?|transfer sw\w*|load bank|generators?|gensets?|gen ?sets?|standby gen\w*|ats|automatic transfer switch\w*|transfer switch\w*|alternators?|avr)\b",
            ),
        ),
        (
            Kind::Ups,
            re(
                r"(?i)\b(ups[- ]?\d{1,4}[a-z]?|ups|uninterruptible|battery banks?|battery rooms?|battery strings?|battery cabinets?|batter(y|ies)|static bypass|maintenance bypass)\b",
            ),
        ),
        (
            Kind::Plc,
            re(
                r"(?i)\b((plc|rio|io)[- ]?\d{1,4}[a-z]?|i/?o drops?|tags?|go online|forced|inputs?|outputs?|plcs?|remote i/?o|i/o (cards?|modules?|racks?)|input cards?|output cards?|hmis?|scada|ladder logic|controllers?|profinet|modbus|ethernet/ip)\b",
            ),
        ),
        (
            Kind::Transmitter,
            re(
                r"(?i)\b((pt|ft|lt|tt|pdt|dpt|fit|lit|pit|tit)[- ]?\d{1,4}[a-z]?|dp tx|calibrat\w+|transmitters?|xmtrs?|[pftl]t-?\d+|dp cells?|flow ?meters?|flowmeters?|mag ?meters?|level (sensors?|probes?)|pressure (sensors?|gauges?)|rtds?|thermocouples?|4-20 ?ma|hart)\b",
            ),
        ),
        (
            Kind::NetworkGear,
            re(
                r"(?i)\b((rtr|gw)[- ]?\d{1,4}[a-z]?|telemetry|latency|(drops?|dropping|lost) (its |the )?connection|ethernet switch\w*|managed switch\w*|network switch\w*|switch ports?|cellular routers?|lte|4g|5g|modems?|routers?|vpn|vlans?|sim cards?|ip address\w*|firewalls?|ring (topology|redundancy))\b",
            ),
        ),
        (
            Kind::PvInverter,
            re(
                r"(?i)\b((inv|pv)[- ]?\d{1,4}[a-z]?|strings?|pv|solar|photovoltaic|string inverters?|inverters?|combiner box\w*|mppt|panels? on the roof|array)\b",
            ),
        ),
        (
            Kind::HydraulicPowerUnit,
            re(
                r"(?i)\b(hpu[- ]?\d{0,4}[a-z]?|hyd(raulic)? packs?|hyd (leak|oil|pressure|hoses?|cyl\w*|pumps?)|cyl(inder)? rods?|rod seals?|hpus?|hydraulic power units?|power packs?|accumulators?|hydraulic (pumps?|tanks?|reservoirs?|oil|pressure|units?)|proportional valves?)\b",
            ),
        ),
        (
            Kind::Conveyor,
            re(
                r"(?i)\b((cv|conv|bc)[- ]?\d{1,4}[a-z]?|belts?|conveyors?|belt (tracking|splice|cleaner|scraper|wander\w*|slip\w*)|idlers?|take-?ups?|head pulley|tail pulley|gearmotors?|gear ?motors?|gearbox(es)?|reducers?)\b",
            ),
        ),
    ]
});

/// What the lexicon finds in a text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Named {
    /// Kinds in scope, with the first words that named each.
    pub kinds: Vec<(Kind, String)>,
    /// The first near-scope kind outside the scope, with its words.
    pub outside: Option<(Outside, String)>,
}

/// Belts that drive something other than a conveyor: a fan belt or a
/// v-belt is on a rooftop unit, an engine or a machine of any kind, so it
/// names no conveyor ("fan belt alignment" says nothing of the equipment).
static OTHER_BELTS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\b((fan|v|vee|alternator|a/?c|timing|drive|serpentine|fan ?drive)[- ]?belts?|",
        // The ends of a motor or fan shaft name no drive ("11 mm/s at the
        // drive end"), and a cooling tower's or a mixer's gearbox no conveyor.
        r"(non[- ]?)?drive[- ]ends?|(?P<keep>ct|tower|fan|mixer|agitator|cooling tower) gearbox(es)?)\b",
    ))
});

/// The kinds of equipment `text` names.
pub fn named(text: &str) -> Named {
    let outside = OUTSIDE
        .iter()
        .find_map(|(o, r)| r.find(text).map(|m| (*o, m.as_str().to_string())));
    let plain = OTHER_BELTS.replace_all(text, "${keep}");
    let kinds: Vec<(Kind, String)> = KINDS
        .iter()
        .filter_map(|(k, r)| r.find(&plain).map(|m| (*k, m.as_str().to_string())))
        .collect();
    let outside = outside.or_else(|| {
        if kinds.is_empty() {
            MOBILE_PARTS
                .find(text)
                .map(|m| (Outside::Vehicle, m.as_str().to_string()))
        } else {
            None
        }
    });
    Named { kinds, outside }
}

/// The kinds a procedure is about, from its `equipment` front matter
/// (words in brackets are detail, not kinds: "chiller (screw or
/// centrifugal compressor)" is a chiller). Empty means the procedure is
/// about no one kind (site-wide safety and admin procedures) and fits any.
pub fn procedure_kinds(equipment: &str) -> Vec<Kind> {
    procedure_kinds_of(equipment, "")
}

/// [`procedure_kinds`] of a procedure's `equipment` and `title` together
/// (a title such as "Motor drawing more than its nameplate current" says
/// what the procedure is about as much as its equipment line).
pub fn procedure_kinds_of(equipment: &str, title: &str) -> Vec<Kind> {
    let low = equipment.trim_start().to_ascii_lowercase();
    if low.starts_with("all ") || low.starts_with("any ") {
        return Vec::new();
    }
    let mut kinds = kinds_of(equipment);
    for k in kinds_of(title) {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds
}

fn kinds_of(equipment: &str) -> Vec<Kind> {
    let mut plain = String::with_capacity(equipment.len());
    let mut depth = 0u32;
    for c in equipment.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    named(&plain).kinds.into_iter().map(|(k, _)| k).collect()
}

/// The outcome of the equipment check for one local answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The cited procedure fits any equipment (site-wide safety and admin).
    Unchecked,
    /// The question names no kind of equipment, so nothing shows that the
    /// procedure is about what it asks.
    Unnamed,
    /// The question and the cited procedure share a kind.
    Same(Kind),
    /// The question names equipment the knowledge base does not cover.
    Outside(Outside, String),
    /// The question names kinds in scope, none of them the procedure's.
    Mismatch {
        asked: Kind,
        said: String,
        cited: Kind,
    },
}

/// Whether a question naming `q` may be answered from a procedure about
/// `cited` (from [`procedure_kinds`]).
pub fn check(q: &Named, cited: &[Kind]) -> Check {
    if let Some((o, said)) = &q.outside {
        return Check::Outside(*o, said.clone());
    }
    if cited.is_empty() {
        return Check::Unchecked;
    }
    if q.kinds.is_empty() {
        return Check::Unnamed;
    }
    if let Some((k, _)) = q.kinds.iter().find(|(k, _)| cited.contains(k)) {
        return Check::Same(*k);
    }
    // Several parts of one plant name several kinds ("the VFD on P-3"); a
    // procedure about any of them will do, and so it is only a mismatch
    // when none of them is the procedure's.
    let (asked, said) = q.kinds[0].clone();
    Check::Mismatch {
        asked,
        said,
        cited: cited[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_scope_equipment_is_named_outside_even_with_in_scope_words() {
        for (text, want) in [
            (
                "compressor on the walk-in freezer keeps short cycling",
                Outside::Catering,
            ),
            (
                "home wifi router drops every evening",
                Outside::ConsumerNetwork,
            ),
            ("truck a/c compressor clutch not engaging", Outside::Vehicle),
            ("excavator boom hose leaking", Outside::Vehicle),
            ("CNC spindle drive fault 310", Outside::MachineTool),
            ("lift car stuck between floors 2 and 3", Outside::Lift),
            ("fridge at home is not cooling", Outside::Domestic),
            ("infusion pump occlusion alarm", Outside::Medical),
        ] {
            let n = named(text);
            assert_eq!(n.outside.map(|(o, _)| o), Some(want), "{text}");
        }
    }

    #[test]
    fn a_fan_belt_names_no_conveyor() {
        assert!(named("scope up problem with fan belt alignment")
            .kinds
            .is_empty());
        assert!(named("v-belt on the supply fan is glazed").kinds.is_empty());
        let n = named("belt on CV-4 tracking off at the tail pulley");
        assert_eq!(n.kinds[0].0, Kind::Conveyor);
    }

    #[test]
    fn a_shaft_end_names_no_drive_and_a_tower_gearbox_no_conveyor() {
        assert!(named("exhaust fan 9 mm/s on the non-drive end bearing")
            .kinds
            .is_empty());
        let kinds = |t: &str| named(t).kinds.iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(kinds("CT fan gearbox oil low again"), vec![Kind::Chiller]);
        assert_eq!(
            kinds("cooling tower gearbox weeping oil at the shaft seal"),
            vec![Kind::Chiller]
        );
        assert_eq!(kinds("gearbox on CV-2 running hot"), vec![Kind::Conveyor]);
        assert_eq!(
            kinds("VFD-3 drive fault at the drive end of the line"),
            vec![Kind::Drive]
        );
    }

    #[test]
    fn plant_equipment_names_its_kinds() {
        let n = named("VFD on P-3 tripping on overcurrent");
        let kinds: Vec<Kind> = n.kinds.iter().map(|(k, _)| *k).collect();
        assert!(kinds.contains(&Kind::Drive) && kinds.contains(&Kind::Pump));
        assert!(n.outside.is_none());
        assert_eq!(
            procedure_kinds("chiller (screw or centrifugal compressor)"),
            vec![Kind::Chiller]
        );
        assert!(procedure_kinds("all electrical equipment").is_empty());
    }

    #[test]
    fn a_procedure_about_other_equipment_is_a_mismatch() {
        let q = named("CH-2 low suction pressure alarm");
        assert_eq!(
            check(&q, &procedure_kinds("air compressor (rotary screw)")),
            Check::Mismatch {
                asked: Kind::Chiller,
                said: "CH-2".into(),
                cited: Kind::AirCompressor
            }
        );
        assert_eq!(
            check(&q, &procedure_kinds("chiller")),
            Check::Same(Kind::Chiller)
        );
        assert_eq!(
            check(&named("what PPE for this job"), &[Kind::Pump]),
            Check::Unnamed
        );
        assert_eq!(check(&q, &[]), Check::Unchecked);
    }
}
